package v1alpha1

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// DocumentError is what went wrong decoding one document of a multi-document input.
type DocumentError struct {
	// Index is the document's position in the input, from 0.
	Index int
	// Kind and Name are set when the document got far enough to tell them.
	Kind   string
	Name   string
	Errors ErrorList
}

// Error names the document and lists its errors.
func (e *DocumentError) Error() string {
	what := fmt.Sprintf("document %d", e.Index+1)
	if e.Kind != "" {
		what += " (" + e.Kind
		if e.Name != "" {
			what += " " + e.Name
		}
		what += ")"
	}
	var b strings.Builder
	b.WriteString(what)
	b.WriteString(":")
	for _, fe := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(fe.Error())
	}
	return b.String()
}

// DecodeErrors lists the documents of an input that failed to decode.
type DecodeErrors []*DocumentError

// Error joins the documents' errors.
func (d DecodeErrors) Error() string {
	msgs := make([]string, len(d))
	for i, e := range d {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Decode reads every object of a YAML stream (documents separated by "---" lines, each an
// object or a List with items) or a JSON input (one object, an array of objects, or a List). Decoding is strict: an unknown
// field, a wrong type, a missing or foreign apiVersion or an unknown kind is an error naming the
// field. Empty documents are skipped. When any document fails, the error is DecodeErrors and
// lists every failing document; the objects that did decode are returned too.
func Decode(data []byte) ([]Object, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, DecodeErrors{{Index: 0, Errors: ErrorList{{Rule: RuleSyntax, Message: err.Error()}}}}
	}
	var objs []Object
	var errs DecodeErrors
	for i, doc := range docs {
		obj, derr := decodeDocument(doc)
		if derr != nil {
			derr.Index = i
			errs = append(errs, derr)
			continue
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
	if len(errs) > 0 {
		return objs, errs
	}
	return objs, nil
}

// DecodeObject strictly decodes one object from YAML or JSON. It returns nil and the errors when
// the document is not a single valid object.
func DecodeObject(data []byte) (Object, ErrorList) {
	obj, derr := decodeDocument(data)
	if derr != nil {
		return nil, derr.Errors
	}
	if obj == nil {
		return nil, ErrorList{{Rule: RuleRequired, Message: "the document is empty"}}
	}
	return obj, nil
}

// splitDocuments turns the input into one JSON or YAML text per object.
func splitDocuments(data []byte) ([][]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("invalid JSON array: %w", err)
		}
		docs := make([][]byte, len(items))
		for i, it := range items {
			docs[i] = it
		}
		return docs, nil
	}
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var list listDocument
		if err := json.Unmarshal(trimmed, &list); err == nil && list.Kind == kindList && duplicateKeysError(trimmed) == nil {
			docs := make([][]byte, len(list.Items))
			for i, it := range list.Items {
				docs[i] = it
			}
			return docs, nil
		}
		return [][]byte{trimmed}, nil
	}
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line := sc.Text()
		if isSeparator(line) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read documents: %w", err)
	}
	docs = append(docs, cur.Bytes())
	return expandLists(docs), nil
}

// kindList is the kind of a document that holds other objects as items.
const kindList = "List"

// listDocument is a List: what `strata get` prints for several objects.
type listDocument struct {
	APIVersion string            `json:"apiVersion,omitempty"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// expandLists replaces each YAML document that is a List (what `strata get -o yaml` prints for
// several objects) by its items. A document that does not parse, or that gives a key twice
// (which converting it to JSON would hide), is kept for decodeDocument to report.
func expandLists(docs [][]byte) [][]byte {
	out := make([][]byte, 0, len(docs))
	for _, doc := range docs {
		if !bytes.Contains(doc, []byte(kindList)) {
			out = append(out, doc)
			continue
		}
		var list listDocument
		if j, err := yaml.YAMLToJSON(doc); err != nil || json.Unmarshal(j, &list) != nil || list.Kind != kindList || duplicateKeysError(doc) != nil {
			out = append(out, doc)
			continue
		}
		for _, it := range list.Items {
			out = append(out, it)
		}
	}
	return out
}

func isSeparator(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	rest := strings.TrimSpace(line[3:])
	return rest == "" || strings.HasPrefix(rest, "#")
}

// decodeDocument decodes one document; it returns nil, nil for an empty one.
func decodeDocument(doc []byte) (Object, *DocumentError) {
	fail := func(rule Rule, field, format string, args ...any) *DocumentError {
		return &DocumentError{Errors: ErrorList{{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}}}
	}
	jsonDoc, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fail(RuleSyntax, "", "invalid YAML: %v", err)
	}
	if t := bytes.TrimSpace(jsonDoc); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(jsonDoc))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fail(RuleSyntax, "", "invalid document: %v", err)
	}
	m, ok := generic.(map[string]any)
	if !ok {
		return nil, fail(RuleType, "", "a document must be an object with apiVersion, kind, metadata and spec, not %s", jsonType(generic))
	}
	kind, _ := m["kind"].(string)
	derr := &DocumentError{Kind: kind}
	if md, ok := m["metadata"].(map[string]any); ok {
		derr.Name, _ = md["name"].(string)
	}
	if kind == kindList {
		// A List reaches here only when splitting it found a key given twice.
		if checkDuplicateKeys(&derr.Errors, "", reflect.TypeFor[listDocument](), doc); len(derr.Errors) > 0 {
			return nil, derr
		}
	}
	apiVersion, _ := m["apiVersion"].(string)
	switch {
	case m["apiVersion"] == nil:
		derr.Errors.Add("apiVersion", RuleRequired, "apiVersion is required and must be %s", GroupVersion)
	case apiVersion != GroupVersion:
		derr.Errors.Add("apiVersion", RuleEnum, "unsupported apiVersion %q: must be %s", fmt.Sprint(m["apiVersion"]), GroupVersion)
	}
	obj := New(kind)
	switch {
	case m["kind"] == nil:
		derr.Errors.Add("kind", RuleRequired, "kind is required: one of %s", strings.Join(Kinds, ", "))
	case obj == nil:
		derr.Errors.Add("kind", RuleEnum, "unknown kind %q: must be one of %s", fmt.Sprint(m["kind"]), strings.Join(Kinds, ", "))
	}
	if obj == nil {
		return nil, derr
	}
	checkDuplicateKeys(&derr.Errors, "", reflect.TypeOf(obj).Elem(), doc)
	checkShape(m, reflect.TypeOf(obj).Elem(), "", &derr.Errors)
	if len(derr.Errors) > 0 {
		return nil, derr
	}
	if err := json.Unmarshal(jsonDoc, obj); err != nil {
		derr.Errors.Add("", RuleType, "%v", err)
		return nil, derr
	}
	return obj, nil
}

// checkShape walks a generic JSON value beside the Go type it will be decoded into, and reports
// every unknown field and every value of the wrong JSON type with its full path. Encoding/json's
// own strict mode stops at the first unknown field and does not say where it is.
func checkShape(v any, t reflect.Type, path Path, errs *ErrorList) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return // null is the zero value for every field
	}
	if t == reflect.TypeFor[Secret]() || t == reflect.TypeFor[time.Time]() {
		s, ok := v.(string)
		if !ok {
			errs.Add(path, RuleType, "must be a string, not %s", jsonType(v))
			return
		}
		var tm time.Time
		if t == reflect.TypeFor[time.Time]() && tm.UnmarshalText([]byte(s)) != nil {
			errs.Add(path, RuleFormat, "%q must be an RFC 3339 time, such as 2026-06-01T00:00:00Z", s)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			errs.Add(path, RuleType, "must be an object, not %s", jsonType(v))
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				errs.Add(path.Child(k), RuleUnknownField, "unknown field %q", k)
				continue
			}
			checkShape(m[k], f, path.Child(k), errs)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			errs.Add(path, RuleType, "must be an object, not %s", jsonType(v))
			return
		}
		for _, k := range sortedKeys(m) {
			checkShape(m[k], t.Elem(), path.Key(k), errs)
		}
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			errs.Add(path, RuleType, "must be a list, not %s", jsonType(v))
			return
		}
		for i, it := range items {
			checkShape(it, t.Elem(), path.Index(i), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			errs.Add(path, RuleType, "must be a string, not %s", jsonType(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.Add(path, RuleType, "must be true or false, not %s", jsonType(v))
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			errs.Add(path, RuleType, "must be an integer, not %s", jsonType(v))
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, 32); err != nil {
			errs.Add(path, RuleType, "must be an integer between -2147483648 and 2147483647, not %s", n)
		}
	}
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// jsonFields maps the JSON names of a struct's fields (following inline embedded structs) to
// their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
