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
// names and objects: the CloudAccount's file holds the emulator's account without its secret;
// each cluster uses that account, subscription and location; the other files are copied as
// they are.
func emulatorExamples(src fs.FS, target emulatorTarget) ([]exampleFile, error) {
	names, err := fs.Glob(src, "*.yaml")
	if err != nil {
		return nil, err
	}
	var files []exampleFile
	for _, name := range names {
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, err
		}
		objs, err := v1alpha1.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("example %s: %w", name, err)
		}
		switch {
		case holds(objs, v1alpha1.KindCloudAccount):
			data, err = accountCopy(name, target.Account)
		case holds(objs, v1alpha1.KindCluster):
			data = clusterCopy(name, data, target)
		}
		if err != nil {
			return nil, fmt.Errorf("example %s: %w", name, err)
		}
		if objs, err = v1alpha1.Decode(data); err != nil {
			return nil, fmt.Errorf("emulator-ready copy of example %s: %w", name, err)
		}
		if err := checkCopy(objs, target); err != nil {
			return nil, fmt.Errorf("emulator-ready copy of example %s: %w", name, err)
		}
		files = append(files, exampleFile{Name: name, Data: data, Objs: objs})
	}
	return files, nil
}

// holds reports whether objs hold an object of kind.
func holds(objs []v1alpha1.Object, kind string) bool {
	return slices.ContainsFunc(objs, func(o v1alpha1.Object) bool { return o.GetTypeMeta().Kind == kind })
}

// accountCopy is the YAML of the emulator's account, without its secret.
func accountCopy(name string, acct *v1alpha1.CloudAccount) ([]byte, error) {
	data, err := yaml.Marshal(acct) // a Secret never encodes
	if err != nil {
		return nil, err
	}
	head := "# strata quickstart's cloud account for its emulator, in place of examples/" + name + ".\n" +
		"# Its client secret is not written here: the server keeps it, and applying this file\n" +
		"# without one keeps the stored secret.\n"
	return append([]byte(head), data...), nil
}

// clusterFields match the lines of a cluster's YAML that clusterCopy rewrites.
var clusterFields = map[string]*regexp.Regexp{
	"cloudAccount":   regexp.MustCompile(`(?m)^(\s+cloudAccount:)[ \t]*\S.*$`),
	"subscriptionID": regexp.MustCompile(`(?m)^(\s+subscriptionID:)[ \t]*\S.*$`),
	"location":       regexp.MustCompile(`(?m)^(\s+location:)[ \t]*\S.*$`),
}

// clusterCopy rewrites a cluster's account, subscription and location lines, keeping its
// comments; checkCopy verifies the result.
func clusterCopy(name string, data []byte, target emulatorTarget) []byte {
	values := map[string]string{
		"cloudAccount":   target.Account.Metadata.Name,
		"subscriptionID": target.Subscription,
		"location":       target.Location,
	}
	for field, re := range clusterFields {
		data = re.ReplaceAll(data, []byte("${1} "+values[field]))
	}
	head := "# strata quickstart's copy of examples/" + name + ", ready for its emulator: cloudAccount,\n" +
		"# subscriptionID and location point at the emulator of this data directory.\n"
	return append([]byte(head), data...)
}

// checkCopy verifies that every cluster of a copy uses the target and that no account holds a
// secret.
func checkCopy(objs []v1alpha1.Object, target emulatorTarget) error {
	for _, obj := range objs {
		switch o := obj.(type) {
		case *v1alpha1.Cluster:
			az := o.Spec.Azure
			if o.Spec.CloudAccount != target.Account.Metadata.Name || az.SubscriptionID != target.Subscription || az.Location != target.Location {
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
