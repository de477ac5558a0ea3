package v1alpha1

import "time"

// GroupVersion is the apiVersion of every strata resource.
const GroupVersion = "strata.dev/v1alpha1"

// Kind names.
const (
	KindCloudAccount        = "CloudAccount"
	KindPrivateCloudGateway = "PrivateCloudGateway"
	KindClusterProfile      = "ClusterProfile"
	KindCluster             = "Cluster"
	// The access-control kinds (see access.go).
	KindRole        = "Role"
	KindTagFilter   = "TagFilter"
	KindUser        = "User"
	KindTeam        = "Team"
	KindRoleBinding = "RoleBinding"
	KindAPIKey      = "APIKey"
)

// TypeMeta names the schema of an object.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the metadata every stored object carries. Name and Labels are the user's; the
// other fields are set by the server and ignored (or, for resourceVersion, used as a precondition)
// when a user sends them.
type ObjectMeta struct {
	Name              string            `json:"name"`
	UID               string            `json:"uid,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp *time.Time        `json:"creationTimestamp,omitempty"`
	DeletionTimestamp *time.Time        `json:"deletionTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
}

// Condition is one observed aspect of an object's state.
type Condition struct {
	Type               string     `json:"type"`
	Status             string     `json:"status"` // True, False or Unknown
	Reason             string     `json:"reason,omitempty"`
	Message            string     `json:"message,omitempty"`
	LastTransitionTime *time.Time `json:"lastTransitionTime,omitempty"`
}

// Status is the observed state common to every kind. It is written by reconcilers, never by users:
// a status sent with a create or update is ignored.
type Status struct {
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Phase              string      `json:"phase,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
}

// Object is implemented by every strata resource.
type Object interface {
	GetTypeMeta() *TypeMeta
	GetMetadata() *ObjectMeta
	GetStatus() *Status
	// Key is the object's identity within its kind: the name, or for a ClusterProfile
	// "name@version", since several versions of one profile coexist.
	Key() string
}

// GetTypeMeta returns the object's type metadata.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// New returns an empty object of the given kind, or nil when the kind is unknown.
func New(kind string) Object {
	switch kind {
	case KindCloudAccount:
		return &CloudAccount{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindPrivateCloudGateway:
		return &PrivateCloudGateway{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindClusterProfile:
		return &ClusterProfile{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindCluster:
		return &Cluster{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindRole:
		return &Role{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindTagFilter:
		return &TagFilter{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindUser:
		return &User{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindTeam:
		return &Team{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindRoleBinding:
		return &RoleBinding{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	case KindAPIKey:
		return &APIKey{TypeMeta: TypeMeta{APIVersion: GroupVersion, Kind: kind}}
	}
	return nil
}

// Kinds lists every kind in dependency order: an object may only refer to kinds before it, so
// applying in this order never meets a reference that is about to be created. The access-control
// kinds refer only to each other and nothing else refers to them: they come first.
var Kinds = []string{
	KindRole, KindTagFilter, KindUser, KindTeam, KindRoleBinding, KindAPIKey,
	KindPrivateCloudGateway, KindCloudAccount, KindClusterProfile, KindCluster,
}

// CopyStatus sets dst's whole status, kind-specific fields included, to src's. Both must be of
// one kind. The server uses it to keep the stored status when a user replaces an object.
func CopyStatus(dst, src Object) {
	switch d := dst.(type) {
	case *Cluster:
		d.Status = src.(*Cluster).Status
	case *CloudAccount:
		d.Status = src.(*CloudAccount).Status
	case *APIKey:
		d.Status = src.(*APIKey).Status
	default:
		*dst.GetStatus() = *src.GetStatus()
	}
}

// ClearStatus empties dst's whole status.
func ClearStatus(dst Object) {
	switch d := dst.(type) {
	case *Cluster:
		d.Status = ClusterStatus{}
	case *CloudAccount:
		d.Status = CloudAccountStatus{}
	case *APIKey:
		d.Status = APIKeyStatus{}
	default:
		*dst.GetStatus() = Status{}
	}
}

// SetCondition sets a condition of s, keeping its transition time when its status does not
// change; now is the transition time otherwise.
func SetCondition(s *Status, typ, status, reason, msg string, now time.Time) {
	now = now.UTC().Truncate(time.Second)
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if c.Type != typ {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = &now
		}
		c.Status, c.Reason, c.Message = status, reason, msg
		return
	}
	s.Conditions = append(s.Conditions, Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: &now})
}

// FindCondition returns s's condition of the type, or nil.
func FindCondition(s *Status, typ string) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}
