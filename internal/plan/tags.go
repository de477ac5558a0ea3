package plan

import "github.com/strata-dev/strata/api/v1alpha1"

// tags returns the tags of a managed resource with the role: the cluster's own tags, then
// strata's owner and role tags, which win over a cluster tag of the same name (validation
// forbids such names anyway).
//
// The owner tag's value is the cluster's metadata.uid when it has one, else its name. The UID
// tells apart two clusters that had the same name at different times, so that the leftovers
// of a deleted cluster are never taken for a new one's; it never changes during a cluster's life.
func (b *builder) tags(role string) map[string]*string {
	out := make(map[string]*string, len(b.c.Spec.Tags)+v1alpha1.SystemTagCount)
	for _, raw := range b.c.Spec.Tags {
		if t, ok := v1alpha1.ParseTag(raw); ok {
			out[t.Key] = new(t.Value)
		}
	}
	out[v1alpha1.TagOwner] = new(OwnerTagValue(b.c))
	out[v1alpha1.TagRole] = new(role)
	return out
}

// OwnerTagValue is the value of the v1alpha1.TagOwner tag on the cluster's resources: its
// metadata.uid, or its name when it has no UID.
func OwnerTagValue(c *v1alpha1.Cluster) string {
	if c.Metadata.UID != "" {
		return c.Metadata.UID
	}
	return c.Metadata.Name
}
