package arm

import (
	"fmt"
	"strings"
)

// TypeResourceGroup is the full type of a resource group.
const TypeResourceGroup = "Microsoft.Resources/resourceGroups"

// ID is a parsed ARM resource ID:
// /subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}/{Types[0]}/{Names[0]}/{Types[1]}/{Names[1]}...
// A resource group's own ID has no namespace: /subscriptions/{s}/resourceGroups/{rg}.
type ID struct {
	Subscription  string
	ResourceGroup string
	Namespace     string
	Types         []string
	Names         []string
	// Name is the last name: the resource's own.
	Name string
}

// ParseID parses a resource ID; segments are matched case-insensitively and kept as written.
// It returns an ID with an empty Subscription when s is not a resource ID.
func ParseID(s string) ID {
	parts := strings.Split(strings.Trim(s, "/"), "/")
	var id ID
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") {
		return ID{}
	}
	id.Subscription = parts[1]
	rest := parts[2:]
	if len(rest) >= 2 && strings.EqualFold(rest[0], "resourceGroups") {
		id.ResourceGroup = rest[1]
		id.Name = rest[1]
		rest = rest[2:]
	}
	if len(rest) >= 2 && strings.EqualFold(rest[0], "providers") {
		id.Namespace = rest[1]
		rest = rest[2:]
		for len(rest) >= 2 {
			id.Types = append(id.Types, rest[0])
			id.Names = append(id.Names, rest[1])
			id.Name = rest[1]
			rest = rest[2:]
		}
	}
	return id
}

// FullType returns e.g. Microsoft.Network/virtualNetworks/subnets, or
// Microsoft.Resources/resourceGroups for a resource group's ID.
func (id ID) FullType() string {
	if id.Namespace == "" {
		if id.ResourceGroup != "" {
			return TypeResourceGroup
		}
		return ""
	}
	return id.Namespace + "/" + strings.Join(id.Types, "/")
}

// String formats the ID.
func (id ID) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "/subscriptions/%s", id.Subscription)
	if id.ResourceGroup != "" {
		fmt.Fprintf(&b, "/resourceGroups/%s", id.ResourceGroup)
	}
	if id.Namespace != "" {
		fmt.Fprintf(&b, "/providers/%s", id.Namespace)
		for i := range id.Types {
			fmt.Fprintf(&b, "/%s/%s", id.Types[i], id.Names[i])
		}
	}
	return b.String()
}

// ResourceGroupID returns /subscriptions/{s}/resourceGroups/{rg}.
func (id ID) ResourceGroupID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", id.Subscription, id.ResourceGroup)
}

// Parent returns the ID of the parent resource of a child type, the resource group's ID for a
// top-level resource, or "" for a resource group.
func (id ID) Parent() string {
	switch {
	case id.Namespace == "":
		return ""
	case len(id.Types) <= 1:
		return id.ResourceGroupID()
	}
	p := id
	p.Types, p.Names = id.Types[:len(id.Types)-1], id.Names[:len(id.Names)-1]
	p.Name = p.Names[len(p.Names)-1]
	return p.String()
}

// Child returns the ID of a child of this resource.
func (id ID) Child(typ, name string) ID {
	c := id
	c.Types = append(append([]string(nil), id.Types...), typ)
	c.Names = append(append([]string(nil), id.Names...), name)
	c.Name = name
	return c
}

// Key folds an ID for comparison and map keys: ARM IDs are case-insensitive.
func Key(id string) string { return strings.ToLower(strings.TrimRight(id, "/")) }

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
