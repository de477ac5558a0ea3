document.getElementById('app').textContent = 'strata';
