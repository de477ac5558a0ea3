package gatewaywire

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/strata-dev/strata/api/v1alpha1"
	"github.com/strata-dev/strata/internal/store"
)

func TestErrorsRoundTrip(t *testing.T) {
	for _, sentinel := range []error{store.ErrNotFound, store.ErrConflict, store.ErrAlreadyExists, store.ErrInUse, store.ErrBrokenReference} {
		back := FromStatus(ToStatus(fmt.Errorf("cluster a: %w", sentinel)))
		if !errors.Is(back, sentinel) {
			t.Errorf("%v came back as %v", sentinel, back)
		}
		if back.Error() != "cluster a: "+sentinel.Error() {
			t.Errorf("message %q", back.Error())
		}
	}
	other := ToStatus(errors.New("disk full"))
	if status.Code(other) != codes.Unavailable || errors.Is(FromStatus(other), store.ErrNotFound) {
		t.Errorf("other error: %v", other)
	}
}

func TestObjectRoundTripCarriesSecretOnlyWhenAsked(t *testing.T) {
	acct := v1alpha1.New(v1alpha1.KindCloudAccount).(*v1alpha1.CloudAccount)
	acct.Metadata.Name = "a"
	acct.Spec.Azure.ClientSecret = v1alpha1.NewSecret("s3cret")
	for _, with := range []bool{true, false} {
		m, err := EncodeObject(acct, with)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := DecodeObject(m)
		if err != nil {
			t.Fatal(err)
		}
		got := obj.(*v1alpha1.CloudAccount).Spec.Azure.ClientSecret.Reveal()
		if want := map[bool]string{true: "s3cret", false: ""}[with]; got != want {
			t.Errorf("with secret %v: got %q", with, got)
		}
	}
}
