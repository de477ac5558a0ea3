package nodesim

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// withEnvValues returns pod with the variables its first container takes from Secrets and
// ConfigMaps (secretKeyRef, configMapKeyRef) resolved into values, as the kubelet does before
// it starts a container. A missing Secret, ConfigMap or key is an error unless the reference
// is optional, where the variable is left out. Other sources (fieldRef, resourceFieldRef)
// stay as they are: the Runner sets what it knows of them.
func (s *Simulator) withEnvValues(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	out := pod.DeepCopy()
	c := &out.Spec.Containers[0]
	env := c.Env[:0]
	for _, e := range c.Env {
		if e.ValueFrom == nil || (e.ValueFrom.SecretKeyRef == nil && e.ValueFrom.ConfigMapKeyRef == nil) {
			env = append(env, e)
			continue
		}
		value, ok, err := s.envValue(ctx, pod.Namespace, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", e.Name, err)
		}
		if ok {
			env = append(env, corev1.EnvVar{Name: e.Name, Value: value})
		}
	}
	c.Env = env
	return out, nil
}

// envValue reads one secretKeyRef or configMapKeyRef; ok is false for an optional one that
// is missing.
func (s *Simulator) envValue(ctx context.Context, ns string, src *corev1.EnvVarSource) (value string, ok bool, err error) {
	var name, key string
	var optional *bool
	var data map[string]string
	if ref := src.SecretKeyRef; ref != nil {
		name, key, optional = ref.Name, ref.Key, ref.Optional
		sec, getErr := s.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		err = getErr
		if err == nil {
			data = map[string]string{}
			for k, v := range sec.Data {
				data[k] = string(v)
			}
		}
	} else {
		ref := src.ConfigMapKeyRef
		name, key, optional = ref.Name, ref.Key, ref.Optional
		cm, getErr := s.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		err = getErr
		if err == nil {
			data = cm.Data
		}
	}
	isOptional := optional != nil && *optional
	switch v, found := data[key]; {
	case err != nil && apierrors.IsNotFound(err) && isOptional:
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("%s: %w", name, err)
	case !found && isOptional:
		return "", false, nil
	case !found:
		return "", false, fmt.Errorf("%s has no key %q", name, key)
	default:
		return v, true, nil
	}
}
