// Package authz is the pure core of strata's access control: permissions, roles, tag filters,
// bindings and the decisions made from them. It does no I/O: the server loads the roles, filters
// and bindings from its store, builds a Policy with NewPolicy and asks it about each request.
//
// The semantics, which Palette leaves open and strata defines:
//   - grants are a union: a principal may do what any of its bindings allows, and nothing when
//     no binding allows it;
//   - a filter is evaluated on the object's tags at each request (see ObjectTags);
//   - a missing tag key never matches an eq clause, and matches a negated one;
//   - a create or an update is allowed only when the object's tags, as they are and as they would
//     become, fall inside a filter that allows it (see Policy.CheckWrite): a user can never tag an
//     object out of, or into, someone else's scope.
package authz
