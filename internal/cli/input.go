package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/strata-dev/strata/api/v1alpha1"
)

// stdinName names standard input in messages.
const stdinName = "<stdin>"

// source is the content of one input file, or of standard input.
type source struct {
	Name string
	Data []byte
}

// item is a decoded object and the file it came from.
type item struct {
	Obj    v1alpha1.Object
	Source string
}

// inputError is one problem with the input: a document that did not decode, or an object that
// appears twice.
type inputError struct {
	Source string
	// Doc is the document's position from 1, or 0 when the file holds one document only.
	Doc int
	// What names the object when known ("cluster/demo") or its kind.
	What   string
	Errors v1alpha1.ErrorList
}

// readSources reads every -f argument: a file, a directory (its *.yaml, *.yml and *.json files,
// and those of its subdirectories with recursive), or "-" for standard input.
func readSources(stdin io.Reader, paths []string, recursive bool) ([]source, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input: give files with -f FILE, -f DIR or -f - (standard input)")
	}
	var out []source
	readStdin := false
	for _, p := range paths {
		if p == "-" {
			if readStdin {
				return nil, errors.New("standard input (-f -) can be read only once")
			}
			readStdin = true
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read standard input: %w", err)
			}
			out = append(out, source{Name: stdinName, Data: data})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, unwrapPathError(err))
		}
		if !st.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p, unwrapPathError(err))
			}
			out = append(out, source{Name: p, Data: data})
			continue
		}
		files, err := manifestFiles(p, recursive)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			hint := ""
			if !recursive {
				hint = " (use -R to read its subdirectories)"
			}
			return nil, fmt.Errorf("%s holds no .yaml, .yml or .json file%s", p, hint)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", f, unwrapPathError(err))
			}
			out = append(out, source{Name: f, Data: data})
		}
	}
	return out, nil
}

// manifestFiles lists a directory's manifest files in lexical order.
func manifestFiles(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", path, unwrapPathError(err))
		}
		if d.IsDir() {
			if path != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// unwrapPathError drops the *fs.PathError wrapper, whose path the caller already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decodeSources strictly decodes every source and defaults every object. It returns the objects
// in input order and every problem found: documents that did not decode and objects defined
// twice. When problems are returned, the objects must not be used.
func decodeSources(srcs []source) ([]item, []inputError) {
	var items []item
	var problems []inputError
	seen := map[string]string{}
	for _, src := range srcs {
		data := src.Data
		objs, err := v1alpha1.Decode(data)
		var derrs v1alpha1.DecodeErrors // Decode fails with DecodeErrors only
		errors.As(err, &derrs)
		single := len(objs)+len(derrs) == 1
		for _, de := range derrs {
			ie := inputError{Source: src.Name, Errors: de.Errors}
			if !single {
				ie.Doc = de.Index + 1
			}
			if kind, kerr := ResolveKind(de.Kind); kerr == nil {
				ie.What = strings.ToLower(kind)
				if de.Name != "" {
					ie.What += "/" + de.Name
				}
			}
			problems = append(problems, ie)
		}
		for _, obj := range objs {
			v1alpha1.Default(obj)
			name := resourceName(obj)
			if first, dup := seen[name]; dup {
				problems = append(problems, inputError{Source: src.Name, What: name, Errors: v1alpha1.ErrorList{{
					Field: "metadata.name", Rule: v1alpha1.RuleDuplicate,
					Message: fmt.Sprintf("%s is also defined in %s", name, first),
				}}})
				continue
			}
			seen[name] = src.Name
			items = append(items, item{Obj: obj, Source: src.Name})
		}
	}
	return items, problems
}

// loadObjects reads and decodes the -f inputs. It returns the objects, or the problems found, or
// an error when the inputs cannot be read.
func loadObjects(stdin io.Reader, paths []string, recursive bool) ([]item, []inputError, error) {
	srcs, err := readSources(stdin, paths, recursive)
	if err != nil {
		return nil, nil, err
	}
	items, problems := decodeSources(srcs)
	return items, problems, nil
}

// printInputErrors prints every problem, each field error on its own line with its path and rule.
func printInputErrors(w io.Writer, problems []inputError) {
	for _, p := range problems {
		head := p.Source
		if p.Doc > 0 {
			head += fmt.Sprintf(", document %d", p.Doc)
		}
		if p.What != "" {
			head += " (" + p.What + ")"
		}
		fmt.Fprintf(w, "error: %s:\n", head)
		printFieldErrors(w, p.Errors)
	}
}

// printFieldErrors prints "  field: message (rule)" lines.
func printFieldErrors(w io.Writer, errs v1alpha1.ErrorList) {
	for _, fe := range errs {
		line := fe.Message
		if fe.Field != "" {
			line = fe.Field + ": " + line
		}
		if fe.Rule != "" {
			line += " (" + string(fe.Rule) + ")"
		}
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// FileResolver resolves references among a fixed set of objects, such as the files given to
// `strata validate`. A reference to an object that is not among them is ErrUnresolvable, so that
// validation skips the checks that would need it rather than report it missing.
type FileResolver struct {
	objs map[string]map[string]v1alpha1.Object
}

// NewFileResolver indexes objs by kind and key. Default the objects first: a ClusterProfile's key
// includes its defaulted version.
func NewFileResolver(objs []v1alpha1.Object) *FileResolver {
	r := &FileResolver{objs: map[string]map[string]v1alpha1.Object{}}
	for _, o := range objs {
		kind := o.GetTypeMeta().Kind
		if r.objs[kind] == nil {
			r.objs[kind] = map[string]v1alpha1.Object{}
		}
		r.objs[kind][o.Key()] = o
	}
	return r
}

// Lookup returns the object of that kind and key, or v1alpha1.ErrUnresolvable.
func (r *FileResolver) Lookup(_ context.Context, kind, key string) (v1alpha1.Object, error) {
	if o, ok := r.objs[kind][key]; ok {
		return o, nil
	}
	return nil, v1alpha1.ErrUnresolvable
}
