package v1alpha1

import (
	"bytes"
	"fmt"
	"reflect"
	"time"

	yaml3 "go.yaml.in/yaml/v3"
)

// checkDuplicateKeys reports every key that a mapping of text gives twice, at the key's path
// below base. text is YAML or JSON (which YAML reads too), one document or several; t is the Go
// type the documents decode into, so that the paths name map entries as map entries
// (metadata.labels["team"]), or nil for free-form YAML. YAML forbids a key twice in one
// mapping, but the decoders keep the last value and drop the others without a word. Keys
// brought in by a merge key (<<) may be overridden, as YAML allows. Text that does not parse is
// left to the decoder to report.
func checkDuplicateKeys(errs *ErrorList, base Path, t reflect.Type, text []byte) {
	dec := yaml3.NewDecoder(bytes.NewReader(text))
	for {
		var doc yaml3.Node
		if err := dec.Decode(&doc); err != nil {
			return // io.EOF, or a syntax error
		}
		walkKeys(errs, &doc, base, t)
	}
}

// duplicateKeysError returns an error naming the first key that text gives twice, or nil.
func duplicateKeysError(text []byte) error {
	var errs ErrorList
	checkDuplicateKeys(&errs, "", nil, text)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", errs[0].Error())
}

// walkKeys checks the mappings of the node n at path p, whose Go type is t (nil when unknown).
// Aliases are checked where their anchor is.
func walkKeys(errs *ErrorList, n *yaml3.Node, p Path, t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml3.DocumentNode:
		for _, c := range n.Content {
			walkKeys(errs, c, p, t)
		}
	case yaml3.SequenceNode:
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		for i, c := range n.Content {
			walkKeys(errs, c, p.Index(i), elem)
		}
	case yaml3.MappingNode:
		seen := map[string]*yaml3.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml3.ScalarNode || k.ShortTag() == "!!merge" {
				continue
			}
			kp, vt := keyPath(p, t, k.Value)
			if first, dup := seen[k.Value]; dup {
				errs.Add(kp, RuleDuplicate, "key %q is given twice (%s): a key may appear once in a mapping, or one of its values would be dropped without a word", k.Value, positions(first, k))
				continue
			}
			seen[k.Value] = k
			walkKeys(errs, v, kp, vt)
		}
	}
}

// keyPath returns the path of the entry key of a mapping at p whose Go type is t, and the Go
// type of the entry's value (nil when unknown).
func keyPath(p Path, t reflect.Type, key string) (Path, reflect.Type) {
	if t == nil || t == reflect.TypeFor[Secret]() || t == reflect.TypeFor[time.Time]() {
		return p.Child(key), nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return p.Child(key), jsonFields(t)[key]
	case reflect.Map:
		return p.Key(key), t.Elem()
	}
	return p.Child(key), nil
}

// positions says where two occurrences of a key are: their lines, or their columns when they
// share a line (JSON on one line).
func positions(a, b *yaml3.Node) string {
	if a.Line == b.Line {
		return fmt.Sprintf("line %d, columns %d and %d", a.Line, a.Column, b.Column)
	}
	return fmt.Sprintf("lines %d and %d", a.Line, b.Line)
}
