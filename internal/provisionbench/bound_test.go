package provisionbench

import (
	"testing"
	"time"
)

func TestMakespanBound(t *testing.T) {
	requests := []RequestCount{
		{Method: "GET", Type: "Microsoft.Network/virtualNetworks", Count: 400},
		{Method: "PUT", Type: "Microsoft.Network/virtualNetworks", Count: 150},
		{Method: "PATCH", Type: "Microsoft.Compute/disks", Count: 40},
		{Method: "POST", Type: "Microsoft.Storage/storageAccounts/listKeys", Count: 10},
		{Method: "POST", Type: "Microsoft.ResourceGraph/resources", Count: 1000}, // its own quota
	}
	s := time.Second
	tests := []struct {
		name                string
		criticalPath        time.Duration
		readBudget, writeBd float64
		want                time.Duration
	}{
		{"the critical path", 30 * s, 100, 100, 30 * s},
		{"the reads: 400 at 20/s", 5 * s, 20, 100, 20 * s},
		{"the writes: 200 paced (PUT, PATCH, POST but queries) at 10/s", 5 * s, 100, 10, 20 * s},
		{"no budgets", 5 * s, 0, 0, 5 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Requests: requests, RunCriticalPath: tt.criticalPath, ReadBudget: tt.readBudget, WriteBudget: tt.writeBd}
			if got := r.MakespanBound(); got != tt.want {
				t.Errorf("MakespanBound = %v, want %v", got, tt.want)
			}
		})
	}
}
