//go:build tools

// Package tools pins the Kubernetes control plane and etcd that the emulator runs inside its
// clusters; build.sh builds them. It is a module of its own so that k8s.io/kubernetes, and the
// replace directives it needs, stay out of strata's go.mod.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)
