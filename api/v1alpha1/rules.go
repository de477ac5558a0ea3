package v1alpha1

import "context"

func validateMeta(obj Object, errs *ErrorList)                                               {}
func validateCloudAccount(ctx context.Context, o *CloudAccount, r Resolver, errs *ErrorList) {}
func validateGateway(o *PrivateCloudGateway, errs *ErrorList)                                {}
func validateProfile(o *ClusterProfile, errs *ErrorList)                                     {}
func validateCluster(ctx context.Context, o *Cluster, r Resolver, errs *ErrorList)           {}
func validateImmutable(ctx context.Context, old, obj Object, r Resolver, errs *ErrorList)    {}
