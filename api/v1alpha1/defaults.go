package v1alpha1

// Default fills the fields a user may leave out.
func Default(obj Object) {}
