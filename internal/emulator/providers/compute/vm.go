package compute

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/strata-dev/strata/internal/emulator/arm"
	"github.com/strata-dev/strata/internal/emulator/jsonmap"
)

// Resource types of this package and the network interfaces VMs attach.
const (
	TypeVirtualMachine   = "Microsoft.Compute/virtualMachines"
	TypeDisk             = "Microsoft.Compute/disks"
	TypeImage            = "Microsoft.Compute/images"
	TypeNetworkInterface = "Microsoft.Network/networkInterfaces"
)

// hiddenKey holds emulator state in a stored body (power state, customData...); Render strips it.
const hiddenKey = "_emulator"

// Power states of a VM's instance view.
const (
	powerRunning     = "running"
	powerStopped     = "stopped"
	powerDeallocated = "deallocated"
)

// maxCustomData is the longest base64 customData Azure accepts.
const maxCustomData = 87380

// vmNameRule: 1–64 characters (Linux), alphanumerics, '.' and '-', starting and ending with
// an alphanumeric (resource-name-rules, Microsoft.Compute/virtualMachines).
var vmNameRule = arm.NameRule{
	Min: 1, Max: 64,
	Pattern:  regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`),
	Describe: "The name can be up to 64 characters long. It must begin and end with an alphanumeric character and may contain alphanumerics, '.' and '-'.",
}

func vmType() arm.ResourceType {
	return arm.ResourceType{
		Type:        TypeVirtualMachine,
		Name:        vmNameRule,
		Located:     true,
		Create:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusCreated, Operation: "vm.create"},
		Update:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusOK},
		Delete:      arm.LRO{Mode: arm.AsyncOperation, Status: http.StatusAccepted, Operation: "vm.delete"},
		PatchTags:   true,
		Prepare:     prepareVM,
		AfterDelete: afterDeleteVM,
		Render:      renderVM,
		Actions: map[string]arm.Action{
			"start":      powerAction("start"),
			"powerOff":   powerAction("powerOff"),
			"deallocate": powerAction("deallocate"),
			"restart":    powerAction("restart"),
		},
	}
}

// invalidParam is Compute's usual 400 InvalidParameter with a target.
func invalidParam(target, format string, args ...any) *arm.Error {
	e := arm.Errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
	e.Target = target
	return e
}

// missingParam is Compute's "Required parameter 'x' is missing (null)."
func missingParam(name string) *arm.Error {
	return invalidParam(name, "Required parameter '%s' is missing (null).", name)
}

// changeNotAllowed is Compute's 409 PropertyChangeNotAllowed.
func changeNotAllowed(prop string) *arm.Error {
	e := arm.Errorf(http.StatusConflict, "PropertyChangeNotAllowed", "Changing property '%s' is not allowed.", prop)
	e.Target = prop
	return e
}

// nicRef is one entry of networkProfile.networkInterfaces.
type nicRef struct {
	ID           string
	Primary      bool
	DeleteOption string
}

func nicRefs(props map[string]any) []nicRef {
	var out []nicRef
	for _, e := range jsonmap.List(jsonmap.Obj(props, "networkProfile"), "networkInterfaces") {
		m, _ := e.(map[string]any)
		if m == nil {
			continue
		}
		p := jsonmap.Obj(m, "properties")
		out = append(out, nicRef{ID: jsonmap.Str(m, "id"), Primary: jsonmap.Bool(p, "primary", false), DeleteOption: jsonmap.Str(p, "deleteOption")})
	}
	return out
}

// prepareVM validates and completes a VM PUT: size and zone against the SKU catalogue, the
// image, the OS disk (created as a Microsoft.Compute/disks resource), the OS profile and the
// network interfaces (which get properties.virtualMachine set).
func prepareVM(tx arm.Tx, req *arm.PutRequest) *arm.Error {
	vmID := req.ID.String()
	body := req.Body
	rnd := arm.NewRand(tx.Seed(), 0x636f6d70757465)
	now := time.Now().UTC().Format(time.RFC3339Nano)

	if req.Existing != nil {
		if err := checkVMImmutable(req.Existing.Body, body); err != nil {
			return err
		}
		// Microsoft.Compute applies PATCH semantics to PUT updates: absent properties stay.
		jsonmap.Underlay(body, req.Existing.Body)
	}
	props := jsonmap.Ensure(body, "properties")
	delete(props, "instanceView") // read-only; a GET-modify-PUT sends it back
	if req.Existing != nil {
		old := jsonmap.Obj(req.Existing.Body, "properties")
		props["vmId"], props["timeCreated"] = old["vmId"], old["timeCreated"]
	}
	location := jsonmap.Str(body, "location")
	loc, _ := tx.Location(location)
	if loc.Name != "" {
		location = loc.Name
	}

	// Size and zone.
	size := jsonmap.Str(jsonmap.Obj(props, "hardwareProfile"), "vmSize")
	if size == "" {
		return missingParam("hardwareProfile.vmSize")
	}
	sz, ok := LookupSize(size)
	if !ok {
		return invalidParam("vmSize", "The value %s provided for the VM size is not valid. The valid sizes in the current region are: %s.", size, SizeNames())
	}
	zones := jsonmap.StringList(body["zones"])
	zone := ""
	switch {
	case len(zones) > 1:
		return invalidParam("zones", "The value of parameter zones is invalid: a virtual machine can be placed in one zone only.")
	case len(zones) == 1:
		zone = zones[0]
		if !slices.Contains(loc.Zones, zone) {
			return invalidParam("zones", "The zone(s) '%s' for resource '%s' is not supported. The supported zones for location '%s' are '%s'.",
				zone, vmID, location, strings.Join(loc.Zones, ","))
		}
	}
	if !ZoneOffered(sz.Name, location, loc.Zones, zone) {
		return arm.Errorf(http.StatusConflict, "SkuNotAvailable",
			"The requested size for resource '%s' is currently not available in location '%s' zones '%s' for subscription '%s'. Please try another size or deploy to a different location or zones. See https://aka.ms/azureskunotavailable for details.",
			vmID, location, zone, req.ID.Subscription)
	}

	// OS profile.
	storage := jsonmap.Ensure(props, "storageProfile")
	osDisk := jsonmap.Ensure(storage, "osDisk")
	createOption := jsonmap.Str(osDisk, "createOption")
	if createOption == "" {
		return missingParam("osDisk.createOption")
	}
	osProfile := jsonmap.Obj(props, "osProfile")
	if strings.EqualFold(createOption, "FromImage") && req.Existing == nil {
		if osProfile == nil {
			return missingParam("osProfile")
		}
		if err := checkOSProfile(osProfile); err != nil {
			return err
		}
		if jsonmap.Str(osProfile, "computerName") == "" {
			osProfile["computerName"] = req.ID.Name
		}
	}

	// Image and OS disk (on create).
	var actions []func()
	if req.Existing == nil {
		act, err := prepareOSDisk(tx, req, sz, location, zones, storage, rnd, now)
		if err != nil {
			return err
		}
		actions = append(actions, act)
	}

	// Data disks.
	dataActs, err := prepareDataDisks(tx, req, sz, location, zones, storage, rnd, now)
	if err != nil {
		return err
	}
	actions = append(actions, dataActs...)

	if req.Existing != nil {
		actions = append(actions, releaseRemovedDataDisks(tx, req.Existing, storage)...)
	}

	// Network interfaces.
	nicActs, err := prepareNICs(tx, req, props)
	if err != nil {
		return err
	}
	actions = append(actions, nicActs...)

	// Every check passed: apply the side effects and complete the body.
	for _, a := range actions {
		a()
	}
	hidden := jsonmap.Ensure(body, hiddenKey)
	if req.Existing == nil {
		props["vmId"] = arm.RandomGUID(rnd)
		props["timeCreated"] = now
		hidden["powerState"] = powerRunning
		if _, ok := jsonmap.Obj(props, "diagnosticsProfile")["bootDiagnostics"]; !ok {
			jsonmap.Ensure(jsonmap.Ensure(props, "diagnosticsProfile"), "bootDiagnostics")["enabled"] = false
		}
	}
	if osProfile != nil {
		// customData is kept (and never returned, as in Azure) so that a later PUT can be compared.
		if cd, ok := osProfile["customData"]; ok {
			hidden["customData"] = cd
			delete(osProfile, "customData")
		}
		delete(osProfile, "adminPassword")
		osProfile["allowExtensionOperations"] = jsonmap.Bool(osProfile, "allowExtensionOperations", true)
		osProfile["requireGuestProvisionSignal"] = true
		if jsonmap.List(osProfile, "secrets") == nil {
			osProfile["secrets"] = []any{}
		}
	}
	return nil
}

// checkVMImmutable refuses changes Azure does not allow on an existing VM.
func checkVMImmutable(old, new map[string]any) *arm.Error {
	if z, ok := new["zones"]; ok && !slices.Equal(jsonmap.StringList(z), jsonmap.StringList(old["zones"])) {
		return changeNotAllowed("zones")
	}
	oldOS, newOS := jsonmap.Obj(old, "properties", "osProfile"), jsonmap.Obj(new, "properties", "osProfile")
	if newOS == nil {
		return nil
	}
	for _, p := range []string{"computerName", "adminUsername"} {
		if v, ok := newOS[p].(string); ok && v != jsonmap.Str(oldOS, p) {
			return changeNotAllowed(p)
		}
	}
	if v, ok := newOS["customData"].(string); ok && v != jsonmap.Str(jsonmap.Obj(old, hiddenKey), "customData") {
		return changeNotAllowed("customData")
	}
	return nil
}

// checkOSProfile applies Azure's rules to a Linux OS profile.
func checkOSProfile(os map[string]any) *arm.Error {
	user := jsonmap.Str(os, "adminUsername")
	if user == "" {
		return missingParam("adminUsername")
	}
	if cd, ok := os["customData"].(string); ok {
		if _, err := base64.StdEncoding.DecodeString(cd); err != nil || len(cd) > maxCustomData {
			return invalidParam("customData", "Custom data in OSProfile must be in Base64 encoding and with a maximum length of %d characters.", maxCustomData)
		}
	}
	lc := jsonmap.Obj(os, "linuxConfiguration")
	keys := jsonmap.List(jsonmap.Obj(lc, "ssh"), "publicKeys")
	want := "/home/" + user + "/.ssh/authorized_keys"
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if jsonmap.Str(m, "keyData") == "" {
			return missingParam("linuxConfiguration.ssh.publicKeys.keyData")
		}
		if p := jsonmap.Str(m, "path"); p != want {
			return invalidParam("linuxConfiguration.ssh.publicKeys.path",
				"The value of parameter linuxConfiguration.ssh.publicKeys.path is invalid. Only the path %s is supported.", want)
		}
	}
	if jsonmap.Bool(lc, "disablePasswordAuthentication", false) && len(keys) == 0 {
		return missingParam("linuxConfiguration.ssh.publicKeys")
	}
	if !jsonmap.Bool(lc, "disablePasswordAuthentication", false) && jsonmap.Str(os, "adminPassword") == "" && len(keys) == 0 {
		return missingParam("adminPassword")
	}
	return nil
}

// imageSizeGB returns the OS disk size of the image a VM is created from, checking the
// image exists in the VM's location.
func imageSizeGB(tx arm.Tx, ref map[string]any, location string) (int64, *arm.Error) {
	if id := jsonmap.Str(ref, "id"); id != "" {
		img := tx.Get(id)
		if img == nil || !strings.EqualFold(img.Type, TypeImage) || !strings.EqualFold(jsonmap.Str(img.Body, "location"), location) {
			return 0, invalidParam("imageReference", "The Image '%s' cannot be found in '%s' region.", id, location)
		}
		if n, ok := jsonmap.Num(jsonmap.Obj(img.Body, "properties", "storageProfile", "osDisk")["diskSizeGB"]); ok && n > 0 {
			return n, nil
		}
		return 30, nil
	}
	for _, f := range []string{"publisher", "offer", "sku"} {
		if jsonmap.Str(ref, f) == "" {
			return 0, missingParam("imageReference." + f)
		}
	}
	if jsonmap.Str(ref, "version") == "" {
		ref["version"] = "latest"
	}
	return 30, nil
}

// prepareOSDisk checks the image and the OS disk of a new VM; the returned action creates
// the disk resource.
func prepareOSDisk(tx arm.Tx, req *arm.PutRequest, sz Size, location string, zones []string, storage map[string]any, rnd *rand.Rand, now string) (func(), *arm.Error) {
	vmID := req.ID.String()
	osDisk := jsonmap.Obj(storage, "osDisk")
	md := jsonmap.Ensure(osDisk, "managedDisk")
	if strings.EqualFold(jsonmap.Str(osDisk, "createOption"), "Attach") {
		id := jsonmap.Str(md, "id")
		if id == "" {
			return nil, missingParam("osDisk.managedDisk.id")
		}
		d := tx.Get(id)
		if d == nil || !strings.EqualFold(d.Type, TypeDisk) {
			return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Disk %s not found.", id)
		}
		if by := jsonmap.Str(d.Body, "managedBy"); by != "" && !strings.EqualFold(by, vmID) {
			return nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed", "Disk %s is attached to VM %s.", d.Name(), by)
		}
		osDisk["name"] = d.Name()
		osDisk["osType"] = jsonmap.Str(jsonmap.Obj(d.Body, "properties"), "osType")
		return func() { attachDisk(tx, d, vmID) }, nil
	}
	if !strings.EqualFold(jsonmap.Str(osDisk, "createOption"), "FromImage") {
		return nil, invalidParam("osDisk.createOption", "The value '%s' of parameter 'osDisk.createOption' is not allowed. Allowed values are 'FromImage' and 'Attach'.", jsonmap.Str(osDisk, "createOption"))
	}
	ref := jsonmap.Obj(storage, "imageReference")
	if ref == nil {
		return nil, missingParam("imageReference")
	}
	imgGB, err := imageSizeGB(tx, ref, location)
	if err != nil {
		return nil, err
	}
	sizeGB := imgGB
	if n, ok := jsonmap.Num(osDisk["diskSizeGB"]); ok {
		if n < imgGB {
			return nil, invalidParam("osDisk.diskSizeGB",
				"The specified disk size %d GB is smaller than the size of the corresponding disk in the VM image: %d GB. This is not allowed. Please choose equal or greater size or do not specify an explicit size.", n, imgGB)
		}
		sizeGB = n
	}
	skuName := jsonmap.Str(md, "storageAccountType")
	if skuName == "" {
		skuName = "Standard_LRS"
		if sz.PremiumIO {
			skuName = "Premium_LRS"
		}
	}
	dsku, ok := lookupDiskSKU(skuName)
	if !ok {
		return nil, invalidParam("osDisk.managedDisk.storageAccountType", "The value '%s' of parameter 'storageAccountType' is not valid.", skuName)
	}
	if dsku.Tier == "Premium" && !sz.PremiumIO {
		return nil, invalidParam("osDisk.managedDisk.storageAccountType",
			"Requested operation cannot be performed because the VM size %s does not support the storage account type %s of disk '%s'. Consider updating the VM to a size that supports Premium storage.", sz.Name, dsku.Name, jsonmap.Str(osDisk, "name"))
	}
	name := jsonmap.Str(osDisk, "name")
	if name == "" {
		name = fmt.Sprintf("%s_OsDisk_1_%s", req.ID.Name, arm.RandomHex32(rnd))
	}
	diskID := arm.ID{Subscription: req.ID.Subscription, ResourceGroup: req.ID.ResourceGroup,
		Namespace: "Microsoft.Compute", Types: []string{"disks"}, Names: []string{name}, Name: name}.String()
	if tx.Get(diskID) != nil {
		return nil, arm.Errorf(http.StatusConflict, "ConflictingUserInput", "Disk %s already exists in resource group %s. Only CreateOption.Attach is supported.", name, strings.ToUpper(req.ID.ResourceGroup))
	}
	osType := jsonmap.Str(osDisk, "osType")
	if osType == "" {
		osType = "Linux"
	}
	osDisk["name"] = name
	osDisk["osType"] = osType
	osDisk["diskSizeGB"] = sizeGB
	md["id"] = diskID
	md["storageAccountType"] = dsku.Name
	if jsonmap.Str(osDisk, "caching") == "" {
		osDisk["caching"] = "ReadWrite"
	}
	if jsonmap.Str(osDisk, "deleteOption") == "" {
		osDisk["deleteOption"] = "Detach" // Azure's default for a managed OS disk
	}
	creation := map[string]any{"createOption": "FromImage", "imageReference": jsonmap.DeepCopy(ref)}
	disk := newDiskResource(diskID, location, zones, dsku, sizeGB, osType, creation, vmID, rnd, now)
	return func() { tx.Put(disk) }, nil
}

// prepareDataDisks creates Empty data disks and checks attached ones.
func prepareDataDisks(tx arm.Tx, req *arm.PutRequest, sz Size, location string, zones []string, storage map[string]any, rnd *rand.Rand, now string) ([]func(), *arm.Error) {
	vmID := req.ID.String()
	disks := jsonmap.List(storage, "dataDisks")
	if len(disks) > sz.MaxDataDiskCount {
		return nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed",
			"The maximum number of data disks allowed to be attached to a VM of this size is %d.", sz.MaxDataDiskCount)
	}
	var acts []func()
	luns := map[int64]bool{}
	for _, e := range disks {
		dd, _ := e.(map[string]any)
		if dd == nil {
			continue
		}
		lun, ok := jsonmap.Num(dd["lun"])
		if !ok {
			return nil, missingParam("dataDisks.lun")
		}
		if luns[lun] {
			return nil, invalidParam("dataDisks.lun", "A disk at LUN %d already exists.", lun)
		}
		luns[lun] = true
		md := jsonmap.Ensure(dd, "managedDisk")
		if id := jsonmap.Str(md, "id"); id != "" {
			d := tx.Get(id)
			if d == nil || !strings.EqualFold(d.Type, TypeDisk) {
				return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Disk %s not found.", id)
			}
			if by := jsonmap.Str(d.Body, "managedBy"); by != "" && !strings.EqualFold(by, vmID) {
				return nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed", "Disk %s is attached to VM %s.", d.Name(), by)
			}
			dd["name"] = d.Name()
			acts = append(acts, func() { attachDisk(tx, d, vmID) })
			continue
		}
		if !strings.EqualFold(jsonmap.Str(dd, "createOption"), "Empty") {
			return nil, invalidParam("dataDisks.createOption", "The value '%s' of parameter 'dataDisk.createOption' is not allowed without managedDisk.id.", jsonmap.Str(dd, "createOption"))
		}
		sizeGB, ok := jsonmap.Num(dd["diskSizeGB"])
		if !ok || sizeGB <= 0 {
			return nil, missingParam("dataDisk.diskSizeGB")
		}
		skuName := jsonmap.Str(md, "storageAccountType")
		if skuName == "" {
			skuName = "Standard_LRS"
		}
		dsku, ok := lookupDiskSKU(skuName)
		if !ok {
			return nil, invalidParam("dataDisks.managedDisk.storageAccountType", "The value '%s' of parameter 'storageAccountType' is not valid.", skuName)
		}
		name := jsonmap.Str(dd, "name")
		if name == "" {
			name = fmt.Sprintf("%s_disk%d_%s", req.ID.Name, lun+2, arm.RandomHex32(rnd))
		}
		diskID := arm.ID{Subscription: req.ID.Subscription, ResourceGroup: req.ID.ResourceGroup,
			Namespace: "Microsoft.Compute", Types: []string{"disks"}, Names: []string{name}, Name: name}.String()
		dd["name"] = name
		md["id"] = diskID
		md["storageAccountType"] = dsku.Name
		if jsonmap.Str(dd, "caching") == "" {
			dd["caching"] = "None"
		}
		if jsonmap.Str(dd, "deleteOption") == "" {
			dd["deleteOption"] = "Detach"
		}
		disk := newDiskResource(diskID, location, zones, dsku, sizeGB, "", map[string]any{"createOption": "Empty"}, vmID, rnd, now)
		acts = append(acts, func() { tx.Put(disk) })
	}
	return acts, nil
}

// releaseRemovedDataDisks detaches the data disks an update left out.
func releaseRemovedDataDisks(tx arm.Tx, existing *arm.Resource, storage map[string]any) []func() {
	keep := map[string]bool{}
	for _, e := range jsonmap.List(storage, "dataDisks") {
		dd, _ := e.(map[string]any)
		keep[arm.Key(jsonmap.Str(jsonmap.Obj(dd, "managedDisk"), "id"))] = true
	}
	var acts []func()
	for _, e := range jsonmap.List(jsonmap.Obj(existing.Body, "properties", "storageProfile"), "dataDisks") {
		dd, _ := e.(map[string]any)
		if id := jsonmap.Str(jsonmap.Obj(dd, "managedDisk"), "id"); id != "" && !keep[arm.Key(id)] {
			acts = append(acts, func() { releaseDisk(tx, id, existing.ID, "Detach") })
		}
	}
	return acts
}

// prepareNICs checks the VM's network interfaces; the actions attach new ones and detach
// those an update removed.
func prepareNICs(tx arm.Tx, req *arm.PutRequest, props map[string]any) ([]func(), *arm.Error) {
	vmID := req.ID.String()
	refs := nicRefs(props)
	if len(refs) == 0 {
		return nil, invalidParam("networkProfile", "Virtual machine %s must have at least one network interface.", req.ID.Name)
	}
	primaries := 0
	for _, n := range refs {
		if n.Primary {
			primaries++
		}
	}
	if len(refs) > 1 && primaries != 1 {
		return nil, invalidParam("networkProfile.networkInterfaces", "Virtual machine %s must have one network interface set as the primary.", req.ID.Name)
	}
	var acts []func()
	seen := map[string]bool{}
	for _, n := range refs {
		if n.ID == "" {
			return nil, missingParam("networkInterfaces.id")
		}
		nic := tx.Get(n.ID)
		if nic == nil || !strings.EqualFold(nic.Type, TypeNetworkInterface) {
			return nil, arm.Errorf(http.StatusNotFound, "NotFound", "Resource %s not found.", n.ID)
		}
		if by := jsonmap.Str(jsonmap.Obj(nic.Body, "properties", "virtualMachine"), "id"); by != "" && !strings.EqualFold(by, vmID) {
			return nil, arm.Errorf(http.StatusBadRequest, "NicInUse", "Network Interface %s is used by existing VM %s.", nic.ID, by)
		}
		seen[arm.Key(nic.ID)] = true
		acts = append(acts, func() { setNICVM(tx, nic.ID, vmID) })
	}
	if req.Existing != nil {
		for _, old := range nicRefs(jsonmap.Obj(req.Existing.Body, "properties")) {
			if !seen[arm.Key(old.ID)] {
				id := old.ID
				acts = append(acts, func() { detachNIC(tx, id, vmID, "Detach") })
			}
		}
	}
	return acts, nil
}

// setNICVM records the VM on a network interface (properties.virtualMachine.id).
func setNICVM(tx arm.Tx, nicID, vmID string) {
	nic := tx.Get(nicID)
	if nic == nil {
		return
	}
	c := &arm.Resource{ID: nic.ID, Type: nic.Type, Body: jsonmap.CopyMap(nic.Body)}
	jsonmap.Ensure(c.Properties(), "virtualMachine")["id"] = vmID
	tx.Put(c)
}

// detachNIC clears a network interface's VM reference, or deletes it when the VM said so.
func detachNIC(tx arm.Tx, nicID, vmID, deleteOption string) {
	nic := tx.Get(nicID)
	if nic == nil || !strings.EqualFold(jsonmap.Str(jsonmap.Obj(nic.Body, "properties", "virtualMachine"), "id"), vmID) {
		return
	}
	if strings.EqualFold(deleteOption, "Delete") {
		tx.Delete(nic.ID)
		return
	}
	c := &arm.Resource{ID: nic.ID, Type: nic.Type, Body: jsonmap.CopyMap(nic.Body)}
	delete(c.Properties(), "virtualMachine")
	tx.Put(c)
}

// attachDisk marks a disk as attached to a VM.
func attachDisk(tx arm.Tx, d *arm.Resource, vmID string) {
	c := &arm.Resource{ID: d.ID, Type: d.Type, Body: jsonmap.CopyMap(d.Body)}
	c.Body["managedBy"] = vmID
	c.Properties()["diskState"] = "Attached"
	tx.Put(c)
}

// releaseDisk detaches a disk from a deleted VM, or deletes it when the VM said so.
func releaseDisk(tx arm.Tx, diskID, vmID, deleteOption string) {
	d := tx.Get(diskID)
	if d == nil || !strings.EqualFold(jsonmap.Str(d.Body, "managedBy"), vmID) {
		return
	}
	if strings.EqualFold(deleteOption, "Delete") {
		tx.Delete(d.ID)
		return
	}
	c := &arm.Resource{ID: d.ID, Type: d.Type, Body: jsonmap.CopyMap(d.Body)}
	delete(c.Body, "managedBy")
	c.Properties()["diskState"] = "Unattached"
	tx.Put(c)
}

// afterDeleteVM detaches (or deletes, per deleteOption) the VM's NICs and disks.
func afterDeleteVM(tx arm.Tx, r *arm.Resource) {
	props := jsonmap.Obj(r.Body, "properties")
	for _, n := range nicRefs(props) {
		detachNIC(tx, n.ID, r.ID, n.DeleteOption)
	}
	osDisk := jsonmap.Obj(props, "storageProfile", "osDisk")
	if id := jsonmap.Str(jsonmap.Obj(osDisk, "managedDisk"), "id"); id != "" {
		releaseDisk(tx, id, r.ID, jsonmap.Str(osDisk, "deleteOption"))
	}
	for _, e := range jsonmap.List(jsonmap.Obj(props, "storageProfile"), "dataDisks") {
		dd, _ := e.(map[string]any)
		if id := jsonmap.Str(jsonmap.Obj(dd, "managedDisk"), "id"); id != "" {
			releaseDisk(tx, id, r.ID, jsonmap.Str(dd, "deleteOption"))
		}
	}
}

// renderVM hides the emulator's state and adds the instance view. Azure adds it only on
// ?$expand=instanceView; the engine's Render does not see the query, so it is always there.
func renderVM(_ arm.Tx, r *arm.Resource) map[string]any {
	b := jsonmap.CopyMap(r.Body)
	delete(b, hiddenKey)
	props := jsonmap.Ensure(b, "properties")
	props["instanceView"] = instanceView(r)
	return b
}

// instanceView builds a VM's instance view from its provisioning and power states.
func instanceView(r *arm.Resource) map[string]any {
	props := jsonmap.Obj(r.Body, "properties")
	state := jsonmap.Str(props, "provisioningState")
	if state == "" {
		state = "Succeeded"
	}
	power := jsonmap.Str(jsonmap.Obj(r.Body, hiddenKey), "powerState")
	if power == "" {
		power = powerRunning
	}
	if strings.EqualFold(state, "Creating") {
		power = "starting"
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	provDisplay := "Provisioning succeeded"
	if !strings.EqualFold(state, "Succeeded") {
		provDisplay = state
	}
	statuses := []any{
		map[string]any{"code": "ProvisioningState/" + strings.ToLower(state), "level": "Info", "displayStatus": provDisplay, "time": now},
		map[string]any{"code": "PowerState/" + power, "level": "Info", "displayStatus": "VM " + power},
	}
	osDisk := jsonmap.Obj(props, "storageProfile", "osDisk")
	iv := map[string]any{
		"computerName":     jsonmap.Str(jsonmap.Obj(props, "osProfile"), "computerName"),
		"osName":           "ubuntu",
		"osVersion":        "22.04",
		"hyperVGeneration": "V2",
		"vmAgent": map[string]any{
			"vmAgentVersion": "2.13.1.1",
			"statuses": []any{map[string]any{"code": "ProvisioningState/succeeded", "level": "Info",
				"displayStatus": "Ready", "message": "Guest Agent is running", "time": now}},
		},
		"disks": []any{map[string]any{"name": jsonmap.Str(osDisk, "name"), "statuses": []any{map[string]any{
			"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": now}}}},
		"statuses": statuses,
	}
	if power == powerDeallocated {
		delete(iv, "vmAgent")
	}
	return iv
}

// powerAction implements start, powerOff, deallocate and restart. Azure answers 202 and an
// operation; the emulator completes them at once with 200, which the SDK's pollers accept.
func powerAction(action string) arm.Action {
	return func(tx arm.Tx, r *arm.Resource, _ map[string]any) (int, any, *arm.Error) {
		if st := jsonmap.Str(jsonmap.Obj(r.Body, "properties"), "provisioningState"); st != "" && !strings.EqualFold(st, "Succeeded") {
			return 0, nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed",
				"Operation '%s' is not allowed on VM '%s' since the VM is in provisioning state '%s'.", action, r.Name(), st)
		}
		cur := jsonmap.Str(jsonmap.Obj(r.Body, hiddenKey), "powerState")
		var next string
		switch action {
		case "start":
			next = powerRunning
		case "powerOff":
			if cur == powerDeallocated {
				return 0, nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed",
					"Operation 'powerOff' is not allowed on VM '%s' since the VM is deallocated.", r.Name())
			}
			next = powerStopped
		case "deallocate":
			next = powerDeallocated
		case "restart":
			if cur == powerDeallocated {
				return 0, nil, arm.Errorf(http.StatusConflict, "OperationNotAllowed",
					"Operation 'restart' is not allowed on VM '%s' since the VM is deallocated.", r.Name())
			}
			next = powerRunning
		}
		c := &arm.Resource{ID: r.ID, Type: r.Type, Body: jsonmap.CopyMap(r.Body)}
		jsonmap.Ensure(c.Body, hiddenKey)["powerState"] = next
		tx.Put(c)
		return http.StatusOK, nil, nil
	}
}

// getInstanceView answers GET .../virtualMachines/{vm}/instanceView.
func getInstanceView(tx arm.Tx, req *arm.RouteRequest) (int, any, *arm.Error) {
	p := req.Params
	rgID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", p["subscriptionId"], p["resourceGroupName"])
	if tx.Get(rgID) == nil {
		return 0, nil, arm.Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", p["resourceGroupName"])
	}
	vm := tx.Get(rgID + "/providers/Microsoft.Compute/virtualMachines/" + p["vmName"])
	if vm == nil {
		return 0, nil, arm.Errorf(http.StatusNotFound, "ResourceNotFound",
			"The Resource 'Microsoft.Compute/virtualMachines/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
			p["vmName"], p["resourceGroupName"])
	}
	return http.StatusOK, instanceView(vm), nil
}
