package v1alpha1

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
)

// validateMeta checks the name and labels every kind shares.
func validateMeta(obj Object, errs *ErrorList) {
	meta := obj.GetMetadata()
	checkName(errs, "metadata.name", meta.Name)
	checkLabels(errs, "metadata.labels", meta.Labels)
}

func validateCloudAccount(ctx context.Context, o *CloudAccount, r Resolver, old *CloudAccount, errs *ErrorList) {
	p := Path("spec.azure")
	az := o.Spec.Azure
	checkGUID(errs, p.Child("tenantID"), az.TenantID)
	checkGUID(errs, p.Child("clientID"), az.ClientID)
	checkClientSecret(errs, p.Child("clientSecret"), o, old)
	checkEnum(errs, p.Child("environment"), az.Environment, EnvironmentPublic, EnvironmentUSGovernment, EnvironmentChina, EnvironmentCustom)
	ep := p.Child("endpoints")
	switch {
	case az.Environment == EnvironmentCustom && az.Endpoints == nil:
		errs.Add(ep, RuleRequired, "required for environment Custom: resourceManager, activeDirectory and storageSuffix")
	case az.Environment != EnvironmentCustom && az.Endpoints != nil:
		errs.Add(ep, RuleForbidden, "only allowed with environment Custom: the endpoints of %s are built in", az.Environment)
	case az.Endpoints != nil:
		checkHTTPSURL(errs, ep.Child("resourceManager"), az.Endpoints.ResourceManager)
		checkHTTPSURL(errs, ep.Child("activeDirectory"), az.Endpoints.ActiveDirectory)
		if s := az.Endpoints.StorageSuffix; required(errs, ep.Child("storageSuffix"), s) && !isHostName(s) {
			errs.Add(ep.Child("storageSuffix"), RuleFormat, "%q must be a DNS suffix such as core.windows.net, without scheme or port", s)
		}
		if az.Endpoints.CABundle != "" {
			checkPEMCertificates(errs, ep.Child("caBundle"), az.Endpoints.CABundle)
		}
	}
	if o.Spec.Gateway != "" {
		checkName(errs, "spec.gateway", o.Spec.Gateway)
		checkExists(ctx, r, errs, "spec.gateway", KindPrivateCloudGateway, o.Spec.Gateway)
	}
}

// checkClientSecret checks that an account has a client secret: given, or, on an update of old,
// stored and left out of the update. A stored secret is only ever sent where it was given
// for, so an update that changes where it goes must give it again.
func checkClientSecret(errs *ErrorList, p Path, o, old *CloudAccount) {
	if !o.Spec.Azure.ClientSecret.Empty() {
		return
	}
	if old == nil || old.Spec.Azure.ClientSecret.Empty() {
		errs.Add(p, RuleRequired, "required: the client secret of the service principal (it is stored encrypted and never returned)")
		return
	}
	if changed := SecretTargetChanges(old.Spec.Azure, o.Spec.Azure); len(changed) > 0 {
		errs.Add(p, RuleResendSecret, "required again: this update changes %s, which says where the client secret is sent, and the stored secret goes only where it was given for; give spec.azure.clientSecret in the same request",
			strings.Join(changed, ", "))
	}
}

// SecretTargetChanges lists the fields of spec.azure, as paths below it, that differ between
// before and after and say where the client secret goes: the tenant and client it signs in as,
// the cloud, its endpoints and the CA bundle that decides which hosts are trusted.
func SecretTargetChanges(before, after AzureCredentials) []string {
	var changed []string
	diff := func(field, a, b string) {
		if a != b {
			changed = append(changed, field)
		}
	}
	diff("tenantID", before.TenantID, after.TenantID)
	diff("clientID", before.ClientID, after.ClientID)
	diff("environment", before.Environment, after.Environment)
	var eb, ea CloudEndpoints
	if before.Endpoints != nil {
		eb = *before.Endpoints
	}
	if after.Endpoints != nil {
		ea = *after.Endpoints
	}
	diff("endpoints.resourceManager", eb.ResourceManager, ea.ResourceManager)
	diff("endpoints.activeDirectory", eb.ActiveDirectory, ea.ActiveDirectory)
	diff("endpoints.storageSuffix", eb.StorageSuffix, ea.StorageSuffix)
	diff("endpoints.caBundle", eb.CABundle, ea.CABundle)
	return changed
}

// checkExists reports a reference to an object the resolver says does not exist. It returns the
// object, or nil when it is missing or cannot be resolved.
func checkExists(ctx context.Context, r Resolver, errs *ErrorList, p Path, kind, key string) Object {
	if r == nil || key == "" {
		return nil
	}
	obj, err := r.Lookup(ctx, kind, key)
	switch {
	case errors.Is(err, ErrNotFound):
		errs.Add(p, RuleNotFound, "%s %q does not exist", kind, key)
		return nil
	case err != nil:
		if !errors.Is(err, ErrUnresolvable) {
			errs.Add(p, RuleNotFound, "%s %q could not be looked up: %v", kind, key, err)
		}
		return nil
	}
	return obj
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)

// isHostName reports whether s is a DNS host name (letters, digits and '-', dot-separated).
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if len(l) > 63 || !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// InstanceMetadataIP is Azure's instance metadata address, which must bypass any proxy.
const InstanceMetadataIP = "169.254.169.254"

func validateGateway(o *PrivateCloudGateway, errs *ErrorList) {
	if px := o.Spec.Proxy; px != nil {
		p := Path("spec.proxy")
		if px.HTTPProxy == "" && px.HTTPSProxy == "" {
			errs.Add(p, RuleRequired, "set httpProxy, httpsProxy or both; remove the proxy block for no proxy")
		}
		if px.HTTPProxy != "" {
			checkProxyURL(errs, p.Child("httpProxy"), px.HTTPProxy)
		}
		if px.HTTPSProxy != "" {
			checkProxyURL(errs, p.Child("httpsProxy"), px.HTTPSProxy)
		}
		checkMaxItems(errs, p.Child("noProxy"), len(px.NoProxy), MaxNoProxyEntries, "so that the list, joined, fits one environment variable (NO_PROXY)")
		seen := map[string]bool{}
		for i, e := range px.NoProxy {
			ip := p.Child("noProxy").Index(i)
			switch {
			case e == "":
				errs.Add(ip, RuleRequired, "entries must not be empty")
			case strings.Contains(e, "*"):
				errs.Add(ip, RuleFormat, "%q: wildcards are not supported; use a leading dot (.example.com) to match a domain", e)
			case !isNoProxyEntry(e):
				errs.Add(ip, RuleFormat, "%q must be a host name, a domain with a leading dot, an IP address or a CIDR", e)
			case seen[strings.ToLower(e)]:
				errs.Add(ip, RuleDuplicate, "%q is listed twice", e)
			}
			seen[strings.ToLower(e)] = true
		}
		if px.CACertificate != "" {
			checkPEMCertificates(errs, p.Child("caCertificate"), px.CACertificate)
		}
	}
	if n := o.Spec.Network; n != nil {
		p := Path("spec.network")
		checkResourceGroup(errs, p.Child("resourceGroup"), n.ResourceGroup)
		checkNetName(errs, p.Child("virtualNetwork"), n.VirtualNetwork, 64)
	}
}

func isNoProxyEntry(e string) bool {
	if _, err := netip.ParseAddr(e); err == nil {
		return true
	}
	if _, err := netip.ParsePrefix(e); err == nil {
		return true
	}
	host := strings.TrimPrefix(e, ".")
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	return isHostName(host)
}

// checkResourceGroup checks an Azure resource group name: 1-90 letters, digits, '_', '-', '.',
// '(' and ')', not ending with '.'.
func checkResourceGroup(errs *ErrorList, p Path, v string) {
	if !required(errs, p, v) {
		return
	}
	switch {
	case len(v) > 90:
		errs.Add(p, RuleTooLong, "must be at most 90 characters, got %d", len(v))
	case !resourceGroup.MatchString(v) || strings.HasSuffix(v, "."):
		errs.Add(p, RuleFormat, "%q is not a valid resource group name: letters, digits, '_', '-', '.', '(' and ')', not ending with '.'", v)
	}
}

// checkNetName checks the name of a VNet, subnet or NSG: letters, digits, '_', '.' and '-',
// starting with a letter or digit and ending with a letter, digit or '_'.
func checkNetName(errs *ErrorList, p Path, v string, max int) {
	if !required(errs, p, v) {
		return
	}
	switch {
	case len(v) > max:
		errs.Add(p, RuleTooLong, "must be at most %d characters, got %d", max, len(v))
	case !azureNetName.MatchString(v):
		errs.Add(p, RuleFormat, "%q is not a valid Azure network name: letters, digits, '_', '.' and '-', starting with a letter or digit and ending with a letter, digit or '_'", v)
	}
}
