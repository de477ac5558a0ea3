package containerservice

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// This file holds the managed cluster options beyond the basics of cluster.go: Microsoft
// Entra (AAD) integration, the OIDC issuer, workload identity, the workload autoscaler
// profile and the add-ons.

// invalidParameter is AKS's 400 InvalidParameter with a message of its own.
func invalidParameter(target, format string, args ...any) *arm.Error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
	e.Target = target
	return e
}

// callerTenant returns the tenant ID (the tid claim) of the request's bearer token, or "".
// Before Prepare runs, the engine has checked the token and refused it unless its tenant is
// the one that owns the subscription, so this is the subscription's tenant whenever the
// emulator authenticates requests. An engine that authenticates no one may see any header,
// or none: then nothing is known and "" is returned unless the claim holds a GUID.
func callerTenant(h http.Header) string {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) < 2 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims struct {
		Tid string `json:"tid"`
	}
	if json.Unmarshal(payload, &claims) != nil || !guidRe.MatchString(claims.Tid) {
		return ""
	}
	return claims.Tid
}

// managedAAD reports whether cluster properties have AKS-managed Entra integration.
func managedAAD(props map[string]any) bool {
	return jsonmap.Bool(jsonmap.Obj(props, "aadProfile"), "managed", false)
}

// prepareAAD checks and completes aadProfile and disableLocalAccounts. props are the
// properties to store (on update, the request over the stored ones), old the stored
// properties (nil on create) and tenant the subscription's tenant ("" when unknown).
func prepareAAD(props, old map[string]any, tenant string) *arm.Error {
	wasManaged := managedAAD(old)
	v, sent := props["aadProfile"]
	aad, _ := v.(map[string]any)
	switch {
	case aad == nil && sent && v != nil:
		return invalidParameter("aadProfile", "The value of parameter aadProfile is invalid. It must be an object.")
	case aad == nil:
		// Only an explicit null gets here on update: the engine keeps what a PUT leaves out.
		if wasManaged {
			return managedAADCannotBeDisabled()
		}
		delete(props, "aadProfile")
	case !jsonmap.Bool(aad, "managed", false):
		if wasManaged {
			return managedAADCannotBeDisabled()
		}
		// Azure AD integration (legacy), with its clientAppID, serverAppID and
		// serverAppSecret, is retired: AKS no longer creates such clusters.
		return invalidParameter("aadProfile.managed",
			"The value of parameter aadProfile.managed is invalid. Azure AD integration (legacy) is retired: clusters can no longer use aadProfile.managed false with clientAppID, serverAppID and serverAppSecret. Use AKS-managed Microsoft Entra integration instead by setting aadProfile.managed to true. Please see https://aka.ms/aks/managed-aad for more details.")
	default:
		for _, g := range jsonmap.StringList(aad["adminGroupObjectIDs"]) {
			if !guidRe.MatchString(g) {
				return arm.Errorf(http.StatusBadRequest, "InvalidAdminGroupObjectID", "The admin group object ID '%s' is not a valid GUID.", g)
			}
		}
		if t, ok := aad["tenantID"].(string); (!ok || t == "") && tenant != "" {
			aad["tenantID"] = tenant
		}
	}
	if jsonmap.Bool(props, "disableLocalAccounts", false) && !managedAAD(props) {
		return arm.Errorf(http.StatusBadRequest, "BadRequest",
			"Since kubernetes version 1.25, disableLocalAccounts can only be set on Azure AD integration enabled cluster. Please integrate your cluster with AAD (aadProfile.managed true).")
	}
	return nil
}

func managedAADCannotBeDisabled() *arm.Error {
	return arm.Errorf(http.StatusBadRequest, "BadRequest", "Managed AAD can not be disabled.")
}

// oidcIssuerHost is the host of the OIDC issuer URLs AKS hands out, after the location.
const oidcIssuerHost = "oic.prod-aks.azure.com"

// prepareOIDC checks and completes oidcIssuerProfile: an enabled issuer gets its read-only
// issuerURL, https://{location}.oic.prod-aks.azure.com/{tenant}/{GUID}/, minted once and kept
// for the cluster's life; an enabled issuer cannot be disabled. It returns whether the issuer
// is enabled.
func prepareOIDC(props, old map[string]any, rnd *rand.Rand, location, tenant string) (bool, *arm.Error) {
	oldProf := jsonmap.Obj(old, "oidcIssuerProfile")
	wasEnabled := jsonmap.Bool(oldProf, "enabled", false)
	v, sent := props["oidcIssuerProfile"]
	prof, _ := v.(map[string]any)
	if prof == nil && sent && v != nil {
		return false, invalidParameter("oidcIssuerProfile", "The value of parameter oidcIssuerProfile is invalid. It must be an object.")
	}
	enabled := jsonmap.Bool(prof, "enabled", false)
	if wasEnabled && !enabled {
		return false, arm.Errorf(http.StatusBadRequest, "BadRequest",
			"OIDC issuer cannot be disabled once it is enabled. Please see https://aka.ms/aks/oidc-issuer for more details.")
	}
	if prof == nil {
		prof = map[string]any{}
		props["oidcIssuerProfile"] = prof
	}
	prof["enabled"] = enabled
	if !enabled {
		delete(prof, "issuerURL")
		return false, nil
	}
	url := jsonmap.Str(oldProf, "issuerURL")
	if url == "" {
		if tenant == "" {
			tenant = arm.RandomGUID(rnd)
		}
		url = fmt.Sprintf("https://%s.%s/%s/%s/", location, oidcIssuerHost, tenant, arm.RandomGUID(rnd))
	}
	prof["issuerURL"] = url
	return true, nil
}

// checkSecurityProfile refuses workload identity without the OIDC issuer it needs.
func checkSecurityProfile(props map[string]any, oidcEnabled bool) *arm.Error {
	wi := jsonmap.Obj(props, "securityProfile", "workloadIdentity")
	if jsonmap.Bool(wi, "enabled", false) && !oidcEnabled {
		return invalidParameter("securityProfile.workloadIdentity.enabled",
			"Enabling workload identity requires enabling OIDC issuer. Please set oidcIssuerProfile.enabled to true. Please see https://aka.ms/aks/wi for more details.")
	}
	return nil
}

// checkWorkloadAutoScaler checks workloadAutoScalerProfile: KEDA and the vertical pod
// autoscaler each need their (required) enabled flag. What is sent is stored as sent.
func checkWorkloadAutoScaler(props map[string]any) *arm.Error {
	p := jsonmap.Obj(props, "workloadAutoScalerProfile")
	for _, k := range []string{"keda", "verticalPodAutoscaler"} {
		v, ok := p[k]
		if !ok || v == nil {
			continue
		}
		m, _ := v.(map[string]any)
		if _, isBool := m["enabled"].(bool); !isBool {
			return invalidParameter("workloadAutoScalerProfile."+k+".enabled",
				"The value of parameter workloadAutoScalerProfile.%s.enabled is invalid. It is required and must be true or false.", k)
		}
	}
	return nil
}

// Add-on names, as AKS spells them in addonProfiles.
const (
	addonAzurePolicy = "azurepolicy"
	addonKeyVault    = "azureKeyvaultSecretsProvider"
	addonMonitoring  = "omsagent"
)

// addonNames are the add-ons the emulated AKS offers.
var addonNames = []string{addonAzurePolicy, addonKeyVault, addonMonitoring}

// monitoringWorkspaceKey is the omsagent config key that names the Log Analytics workspace.
const monitoringWorkspaceKey = "logAnalyticsWorkspaceResourceID"

// canonicalAddon returns an add-on's name in AKS's casing; AKS matches them case-insensitively.
func canonicalAddon(name string) (string, bool) {
	for _, n := range addonNames {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}

// normalizeAddons rewrites the keys of a request's addonProfiles in AKS's casing, before the
// request is laid over the stored cluster, and refuses the add-ons AKS does not know. A null
// addonProfiles is as if it had not been sent.
func normalizeAddons(props map[string]any) *arm.Error {
	v, ok := props["addonProfiles"]
	if !ok {
		return nil
	}
	if v == nil {
		delete(props, "addonProfiles")
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return invalidParameter("addonProfiles", "The value of parameter addonProfiles is invalid. It must be an object keyed by add-on name.")
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make(map[string]any, len(m))
	for _, k := range names {
		name, ok := canonicalAddon(k)
		if !ok {
			return invalidParameter("addonProfiles."+k,
				"The value of parameter addonProfiles is invalid. Addon '%s' is not supported. Supported addons are %s.", k, strings.Join(addonNames, ", "))
		}
		if _, dup := out[name]; dup {
			return invalidParameter("addonProfiles."+k, "The value of parameter addonProfiles is invalid. Addon '%s' is given more than once.", name)
		}
		prof, ok := m[k].(map[string]any)
		if !ok {
			return invalidParameter("addonProfiles."+name, "The value of parameter addonProfiles.%s is invalid. It must be an object with 'enabled' and 'config'.", name)
		}
		out[name] = prof
	}
	props["addonProfiles"] = out
	return nil
}

// addonConfig returns an add-on config value by key, matched case-insensitively.
func addonConfig(cfg map[string]any, key string) string {
	for k, v := range cfg {
		if s, ok := v.(string); ok && strings.EqualFold(k, key) {
			return s
		}
	}
	return ""
}

// checkAddons checks the add-ons (their keys already normalised) and completes their
// configuration.
func checkAddons(props map[string]any) *arm.Error {
	addons := jsonmap.Obj(props, "addonProfiles")
	for _, name := range addonNames {
		prof, ok := addons[name].(map[string]any)
		if !ok {
			continue
		}
		enabled, ok := prof["enabled"].(bool)
		if !ok {
			return invalidParameter("addonProfiles."+name+".enabled",
				"The value of parameter addonProfiles.%s.enabled is invalid. It is required and must be true or false.", name)
		}
		cfgV, hasCfg := prof["config"]
		cfg, _ := cfgV.(map[string]any)
		if hasCfg && cfgV != nil && cfg == nil {
			return invalidParameter("addonProfiles."+name+".config", "The value of parameter addonProfiles.%s.config is invalid. It must be an object of strings.", name)
		}
		for k, v := range cfg {
			if _, ok := v.(string); !ok {
				return invalidParameter("addonProfiles."+name+".config."+k, "The value of parameter addonProfiles.%s.config.%s is invalid. Add-on config values must be strings.", name, k)
			}
		}
		if !enabled {
			continue
		}
		switch name {
		case addonMonitoring:
			ws := addonConfig(cfg, monitoringWorkspaceKey)
			target := "addonProfiles.omsagent.config." + monitoringWorkspaceKey
			if ws == "" {
				return invalidParameter(target,
					"The value of parameter %s is invalid. The omsagent add-on requires config.%s, the resource ID of a Log Analytics workspace.", target, monitoringWorkspaceKey)
			}
			id := arm.ParseID(ws)
			if id.Subscription == "" || id.ResourceGroup == "" || id.Name == "" || !strings.EqualFold(id.FullType(), "Microsoft.OperationalInsights/workspaces") {
				return invalidParameter(target,
					"The value of parameter %s is invalid. '%s' is not the resource ID of a Log Analytics workspace (Microsoft.OperationalInsights/workspaces).", target, ws)
			}
		case addonKeyVault:
			if cfg == nil {
				cfg = map[string]any{}
				prof["config"] = cfg
			}
			for k, v := range map[string]string{"enableSecretRotation": "false", "rotationPollInterval": "2m"} {
				if addonConfig(cfg, k) == "" {
					cfg[k] = v
				}
			}
		}
	}
	return nil
}

// addonIdentities gives each enabled add-on the read-only user-assigned identity AKS creates
// for it in the node resource group ({addon}-{cluster}), keeping the identity an add-on
// already had; a disabled add-on has none.
func addonIdentities(props, old map[string]any, rnd *rand.Rand, id arm.ID) {
	addons := jsonmap.Obj(props, "addonProfiles")
	for _, name := range addonNames {
		prof, ok := addons[name].(map[string]any)
		if !ok {
			continue
		}
		if !jsonmap.Bool(prof, "enabled", false) {
			delete(prof, "identity")
			continue
		}
		oldProf := jsonmap.Obj(old, "addonProfiles", name)
		if ident := jsonmap.Obj(oldProf, "identity"); jsonmap.Bool(oldProf, "enabled", false) && ident != nil {
			prof["identity"] = jsonmap.CopyMap(ident)
			continue
		}
		prof["identity"] = map[string]any{
			"resourceId": fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-%s",
				id.Subscription, jsonmap.Str(props, "nodeResourceGroup"), strings.ToLower(name), id.Name),
			"clientId": arm.RandomGUID(rnd),
			"objectId": arm.RandomGUID(rnd),
		}
	}
}
