package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
)

// Path is a field path such as spec.machinePools[0].count.
type Path string

// Child returns the path of a named field below p.
func (p Path) Child(name string) Path {
	if p == "" {
		return Path(name)
	}
	return Path(string(p) + "." + name)
}

// Index returns the path of a list element below p.
func (p Path) Index(i int) Path { return Path(string(p) + "[" + strconv.Itoa(i) + "]") }

// Key returns the path of a map entry below p.
func (p Path) Key(k string) Path { return Path(string(p) + "[" + strconv.Quote(k) + "]") }

// String returns the path as text.
func (p Path) String() string { return string(p) }

// Rule names the rule a field broke. Rules are stable identifiers that clients and tests match
// on; the message says the rule in words.
type Rule string

// The rules.
const (
	RuleRequired     Rule = "required"        // a value must be given
	RuleUnknownField Rule = "unknown-field"   // the field does not exist in the schema
	RuleType         Rule = "type"            // the value has the wrong JSON type
	RuleSyntax       Rule = "syntax"          // the document is not valid YAML or JSON
	RuleEnum         Rule = "enum"            // the value is not one of the allowed values
	RuleFormat       Rule = "format"          // the value does not have the required shape
	RuleTooLong      Rule = "too-long"        // the value is longer than allowed
	RuleTooMany      Rule = "too-many"        // the list has more items than allowed
	RuleRange        Rule = "range"           // the number is outside its allowed range
	RuleDuplicate    Rule = "duplicate"       // the value appears twice where it must be unique
	RuleForbidden    Rule = "forbidden"       // the field may not be set in this context
	RuleReserved     Rule = "reserved"        // the value uses a reserved name
	RuleNotFound     Rule = "not-found"       // a referenced object does not exist
	RuleMismatch     Rule = "mismatch"        // a referenced object does not fit
	RuleImmutable    Rule = "immutable"       // the field cannot change after creation
	RuleOverlap      Rule = "overlap"         // network ranges overlap
	RuleOutsideRange Rule = "outside-network" // a subnet lies outside its network
	RuleAllOrNothing Rule = "all-or-nothing"  // a group of fields must be set together
	RuleCount        Rule = "count"           // a number of items breaks a rule
	RuleResendSecret Rule = "resend-secret"   // a stored secret would go somewhere new: give it again
	RuleIgnored      Rule = "ignored"         // a warning: the value is accepted but has no effect
	RuleUnsupported  Rule = "unsupported"     // the change needs what strata does not do yet
	RuleConflict     Rule = "conflict"        // the change conflicts with work under way; retry once it is done
)

// FieldError is one broken rule at one field.
type FieldError struct {
	Field   string `json:"field"`
	Rule    Rule   `json:"rule"`
	Message string `json:"message"`
}

// Error returns "field: message".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// ErrorList is every rule an object broke. A nil or empty list means valid.
type ErrorList []FieldError

// Add appends an error for field p.
func (l *ErrorList) Add(p Path, rule Rule, format string, args ...any) {
	*l = append(*l, FieldError{Field: string(p), Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// Error joins the errors, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
