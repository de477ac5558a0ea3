package v1alpha1

import "time"

// ConditionValid is the type of a CloudAccount's condition that says whether its service
// principal signs in and can access subscriptions.
const ConditionValid = "Valid"

// CloudAccountStatus is what strata observed of a CloudAccount when it last checked it
// against Azure: whether the service principal signs in, and the subscriptions it can access.
type CloudAccountStatus struct {
	Status
	// Subscriptions are the IDs of the subscriptions the service principal can access, sorted;
	// empty when the check failed.
	Subscriptions []string `json:"subscriptions,omitempty"`
	// LastCheckTime is when the account was last checked, by any server.
	LastCheckTime *time.Time `json:"lastCheckTime,omitempty"`
}
