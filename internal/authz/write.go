package authz

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DeniedError is the error of a write the principal may not make: the server answers it with
// 403 and its message, which names the tag that puts the object out of scope when one can be
// identified.
type DeniedError struct {
	// Permission is the permission asked for, e.g. "cluster.update".
	Permission string
	// Tag is the tag that puts the object out of scope: "key:value", or "key" when the key is
	// missing; empty when no one tag can be named.
	Tag string
	msg string
}

// Error returns the reason in plain words, e.g. "tag department:hr is outside every filter that
// lets you update clusters".
func (e *DeniedError) Error() string { return e.msg }

// CheckWrite checks a create or an update against the tags of the object: for a create
// (permission "<kind>.create"), some binding must allow it on the new tags, and oldTags is
// ignored; for an update ("<kind>.update"), some binding must allow it on the old tags (may the
// principal touch the object as it is) and some binding, possibly another, on the new tags (may
// the object be as it becomes). A binding without a filter allows any tags; nil tags are no
// tags. A refusal is a *DeniedError; any other error is a wrong call.
func (p *Policy) CheckWrite(pr Principal, permission string, oldTags, newTags map[string]string) error {
	kind, verb, err := parseRequested(permission)
	if err != nil {
		return fmt.Errorf("check write: %w", err)
	}
	if verb != VerbCreate && verb != VerbUpdate {
		return fmt.Errorf("check write: permission %q: CheckWrite takes create or update; ask Decide about %s", permission, verb)
	}
	granting := p.granting(pr, permission)
	if len(granting) == 0 {
		return &DeniedError{Permission: permission, msg: "no binding grants " + permission}
	}
	if verb == VerbUpdate {
		if _, ok := p.firstAllowing(granting, oldTags); !ok {
			tag, why := p.blame(kind, verb, granting, oldTags)
			return &DeniedError{Permission: permission, Tag: tag, msg: "the object as it is: " + why}
		}
	}
	if _, ok := p.firstAllowing(granting, newTags); !ok {
		tag, why := p.blame(kind, verb, granting, newTags)
		return &DeniedError{Permission: permission, Tag: tag, msg: why}
	}
	return nil
}

// blame says why the filters of the bindings, all scoped, match none of the tags. When one key
// fails a clause of every filter, it names that tag ("key:value", or "key" when missing) and
// returns it; otherwise it lists the tags and the filters, and returns no tag.
func (p *Policy) blame(kind, verb string, scoped []Binding, tags map[string]string) (tag, why string) {
	phrase := verbPhrase(kind, verb)
	var common, names []string
	for i, b := range scoped {
		failing := failingKeys(p.filters[b.Filter], tags)
		if i == 0 {
			common = failing
		} else {
			common = slices.DeleteFunc(common, func(k string) bool { return !slices.Contains(failing, k) })
		}
		if !slices.Contains(names, b.Filter) {
			names = append(names, b.Filter)
		}
	}
	if len(common) == 0 {
		return "", fmt.Sprintf("its tags (%s) match none of the filters that let you %s (%s)",
			formatTags(tags), phrase, strings.Join(names, ", "))
	}
	key := common[0]
	if v, ok := tags[key]; ok {
		tag = key + ":" + v
		return tag, fmt.Sprintf("tag %s is outside every filter that lets you %s", tag, phrase)
	}
	return key, fmt.Sprintf("tag %s is missing: every filter that lets you %s needs it", key, phrase)
}

// failingKeys returns the sorted keys of the filter's clauses that the tags fail.
func failingKeys(f Filter, tags map[string]string) []string {
	var out []string
	for _, c := range f.Filters {
		if !c.Matches(tags) && !slices.Contains(out, c.Key) {
			out = append(out, c.Key)
		}
	}
	slices.Sort(out)
	return out
}

// formatTags returns the tags as sorted "key:value" pairs, or "none".
func formatTags(tags map[string]string) string {
	if len(tags) == 0 {
		return "none"
	}
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		pairs = append(pairs, k+":"+tags[k])
	}
	return strings.Join(pairs, ", ")
}
