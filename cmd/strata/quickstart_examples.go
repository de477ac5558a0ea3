package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/atomicfile"
	"github.com/strata-dev/strata/internal/client"
)

// examplesDir is the directory of the data directory where quickstart writes its
// emulator-ready copies of the examples.
const examplesDir = "examples"

// exampleFile is one file of examples/ made ready for quickstart's emulator.
type exampleFile struct {
	Name string
	Data []byte
	Objs []v1alpha1.Object
}

// emulatorTarget is where the emulator-ready examples point: the emulator's cloud account,
// one of its subscriptions and a location.
type emulatorTarget struct {
	Account      *v1alpha1.CloudAccount
	Subscription string
	Location     string
}

// emulatorExamples returns the files of examples/ made ready for the emulator, with the same
// names and objects: the CloudAccounts' file holds the emulator's accounts without their
// secret (see emulatorAccounts); each cluster uses the emulator's account in place of its
// example account, and the emulator's subscription and location; the other files are copied
// as they are. It returns the files and the emulator's accounts, with their secret.
func emulatorExamples(src fs.FS, target emulatorTarget) ([]exampleFile, []*v1alpha1.CloudAccount, error) {
	names, err := fs.Glob(src, "*.yaml")
	if err != nil {
		return nil, nil, err
	}
	originals := make([][]byte, len(names))
	var examples []*v1alpha1.CloudAccount
	for i, name := range names {
		if originals[i], err = fs.ReadFile(src, name); err != nil {
			return nil, nil, err
		}
		objs, err := v1alpha1.Decode(originals[i])
		if err != nil {
			return nil, nil, fmt.Errorf("example %s: %w", name, err)
		}
		for _, o := range objs {
			if a, ok := o.(*v1alpha1.CloudAccount); ok {
				examples = append(examples, a)
			}
		}
	}
	accounts, replaces := emulatorAccounts(target.Account, examples)
	var files []exampleFile
	for i, name := range names {
		f, err := emulatorCopy(name, originals[i], target, accounts, replaces)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	return files, accounts, nil
}

// emulatorCopy makes one example file ready for the emulator.
func emulatorCopy(name string, data []byte, target emulatorTarget, accounts []*v1alpha1.CloudAccount, replaces map[string]string) (exampleFile, error) {
	objs, err := v1alpha1.Decode(data)
	if err != nil {
		return exampleFile{}, fmt.Errorf("example %s: %w", name, err)
	}
	switch {
	case holds(objs, v1alpha1.KindCloudAccount):
		data, err = accountCopy(name, replacing(objs, accounts, replaces))
	case holds(objs, v1alpha1.KindCluster):
		data = clusterCopy(name, data, target, replaces)
	}
	if err != nil {
		return exampleFile{}, fmt.Errorf("example %s: %w", name, err)
	}
	if objs, err = v1alpha1.Decode(data); err != nil {
		return exampleFile{}, fmt.Errorf("emulator-ready copy of example %s: %w", name, err)
	}
	if err := checkCopy(objs, target, accounts); err != nil {
		return exampleFile{}, fmt.Errorf("emulator-ready copy of example %s: %w", name, err)
	}
	return exampleFile{Name: name, Data: data, Objs: objs}, nil
}

// emulatorAccounts returns the emulator's accounts that take the example accounts' places,
// and which example account each replaces (by name). An example account without a gateway is
// replaced by the emulator's own account (base); one bound to a gateway G by a copy of it
// named "<base>-G" and bound to G, so that the clusters of that account inherit G's proxy as
// in the examples. base comes first; the others follow in the examples' order.
func emulatorAccounts(base *v1alpha1.CloudAccount, examples []*v1alpha1.CloudAccount) ([]*v1alpha1.CloudAccount, map[string]string) {
	accounts := []*v1alpha1.CloudAccount{base}
	replaces := map[string]string{}
	byName := map[string]bool{base.Metadata.Name: true}
	for _, ex := range examples {
		if ex.Spec.Gateway == "" {
			replaces[ex.Metadata.Name] = base.Metadata.Name
			continue
		}
		name := base.Metadata.Name + "-" + ex.Spec.Gateway
		replaces[ex.Metadata.Name] = name
		if byName[name] {
			continue
		}
		byName[name] = true
		acct := *base
		acct.Metadata = v1alpha1.ObjectMeta{Name: name}
		acct.Spec.Gateway = ex.Spec.Gateway
		accounts = append(accounts, &acct)
	}
	return accounts, replaces
}

// replacing returns the accounts that replace the example accounts of objs, once each.
func replacing(objs []v1alpha1.Object, accounts []*v1alpha1.CloudAccount, replaces map[string]string) []*v1alpha1.CloudAccount {
	var out []*v1alpha1.CloudAccount
	for _, o := range objs {
		if o.GetTypeMeta().Kind != v1alpha1.KindCloudAccount {
			continue
		}
		i := slices.IndexFunc(accounts, func(a *v1alpha1.CloudAccount) bool { return a.Metadata.Name == replaces[o.Key()] })
		if i >= 0 && !slices.Contains(out, accounts[i]) {
			out = append(out, accounts[i])
		}
	}
	return out
}

// holds reports whether objs hold an object of kind.
func holds(objs []v1alpha1.Object, kind string) bool {
	return slices.ContainsFunc(objs, func(o v1alpha1.Object) bool { return o.GetTypeMeta().Kind == kind })
}

// accountCopy is the YAML of the emulator's accounts, without their secret.
func accountCopy(name string, accounts []*v1alpha1.CloudAccount) ([]byte, error) {
	head := "# strata quickstart's cloud account for its emulator, in place of examples/" + name + ".\n" +
		"# Its client secret is not written here: the server keeps it, and applying this file\n" +
		"# without one keeps the stored secret.\n"
	out := []byte(head)
	for i, acct := range accounts {
		data, err := yaml.Marshal(acct) // a Secret never encodes
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, data...)
	}
	return out, nil
}

// clusterFields match the lines of a cluster's YAML that clusterCopy rewrites.
var clusterFields = map[string]*regexp.Regexp{
	"cloudAccount":   regexp.MustCompile(`(?m)^(\s+cloudAccount:)[ \t]*(\S.*)$`),
	"subscriptionID": regexp.MustCompile(`(?m)^(\s+subscriptionID:)[ \t]*\S.*$`),
	"location":       regexp.MustCompile(`(?m)^(\s+location:)[ \t]*\S.*$`),
}

// clusterCopy rewrites a cluster's account (to the emulator's account that replaces it),
// subscription and location lines, keeping its comments; checkCopy verifies the result.
func clusterCopy(name string, data []byte, target emulatorTarget, replaces map[string]string) []byte {
	data = clusterFields["cloudAccount"].ReplaceAllFunc(data, func(line []byte) []byte {
		m := clusterFields["cloudAccount"].FindSubmatch(line)
		if to, ok := replaces[strings.TrimSpace(string(m[2]))]; ok {
			return []byte(string(m[1]) + " " + to)
		}
		return line // checkCopy refuses the copy
	})
	values := map[string]string{"subscriptionID": target.Subscription, "location": target.Location}
	for field, value := range values {
		data = clusterFields[field].ReplaceAll(data, []byte("${1} "+value))
	}
	head := "# strata quickstart's copy of examples/" + name + ", ready for its emulator: cloudAccount,\n" +
		"# subscriptionID and location point at the emulator of this data directory.\n"
	return append([]byte(head), data...)
}

// checkCopy verifies that every cluster of a copy uses one of the emulator's accounts, its
// subscription and location, and that no account holds a secret.
func checkCopy(objs []v1alpha1.Object, target emulatorTarget, accounts []*v1alpha1.CloudAccount) error {
	for _, obj := range objs {
		switch o := obj.(type) {
		case *v1alpha1.Cluster:
			az := o.Spec.Azure
			ours := slices.ContainsFunc(accounts, func(a *v1alpha1.CloudAccount) bool { return a.Metadata.Name == o.Spec.CloudAccount })
			if !ours || az.SubscriptionID != target.Subscription || az.Location != target.Location {
				return fmt.Errorf("cluster %s uses account %q, subscription %q and location %q, not the emulator's",
					o.Key(), o.Spec.CloudAccount, az.SubscriptionID, az.Location)
			}
		case *v1alpha1.CloudAccount:
			if !o.Spec.Azure.ClientSecret.Empty() {
				return fmt.Errorf("cloud account %s holds a client secret", o.Key())
			}
		}
	}
	return nil
}

// writeExampleCopies writes each file that dir does not hold yet (mode 0600, in a directory
// of mode 0700) and returns the names written. A file that exists is the user's: it is kept.
func writeExampleCopies(dir string, files []exampleFile) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var written []string
	for _, f := range files {
		err := atomicfile.Create(filepath.Join(dir, f.Name), f.Data, 0o600)
		switch {
		case errors.Is(err, fs.ErrExist):
		case err != nil:
			return written, err
		default:
			written = append(written, f.Name)
		}
	}
	return written, nil
}

// exampleObjects returns the objects of the files but for the cloud accounts, in dependency
// order (gateways, profiles, clusters).
func exampleObjects(files []exampleFile) []v1alpha1.Object {
	var objs []v1alpha1.Object
	for _, f := range files {
		for _, o := range f.Objs {
			if o.GetTypeMeta().Kind != v1alpha1.KindCloudAccount {
				objs = append(objs, o)
			}
		}
	}
	slices.SortStableFunc(objs, func(a, b v1alpha1.Object) int {
		return slices.Index(v1alpha1.Kinds, a.GetTypeMeta().Kind) - slices.Index(v1alpha1.Kinds, b.GetTypeMeta().Kind)
	})
	return objs
}

// ensureExample creates an example object that does not exist and leaves one that exists as
// it is, saying whether the user changed it. It reports whether the object is being deleted.
func ensureExample(ctx context.Context, cl *client.Client, obj v1alpha1.Object, out io.Writer) (deleting bool, err error) {
	kind, key := obj.GetTypeMeta().Kind, obj.Key()
	name := strings.ToLower(kind) + " " + key
	cur, err := cl.Get(ctx, kind, key)
	switch {
	case client.IsNotFound(err):
		if _, err := cl.Create(ctx, obj, client.WriteOptions{}); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "%s created\n", name)
		return false, nil
	case err != nil:
		return false, err
	case cur.GetMetadata().DeletionTimestamp != nil:
		fmt.Fprintf(out, "%s is being deleted: left as it is\n", name)
		return true, nil
	}
	// A dry run says whether applying the example would change what the user has.
	_, res, err := cl.Apply(ctx, obj, client.WriteOptions{DryRun: true})
	if errors.Is(err, client.ErrUnreachable) || ctx.Err() != nil {
		return false, err
	}
	if err == nil && res == client.Unchanged {
		fmt.Fprintf(out, "%s unchanged\n", name)
	} else {
		fmt.Fprintf(out, "kept your changes to %s\n", name)
	}
	return false, nil
}
