// Command allocatable-oracle prints the capacity, allocatable and labels that Karpenter's own
// AWS instance-type code (aws/karpenter-provider-aws v1.14.1,
// pkg/providers/instancetype/types.go, DefaultResolver.Resolve -> NewInstanceType) computes
// for EC2 DescribeInstanceTypes facts under an EC2NodeClass.
//
// stdin:  {"nodeClass": <EC2NodeClass object>, "instanceTypes": [<InstanceTypeInfo>, ...]}
//
//	(InstanceTypeInfo in the EC2 API's own field names, as moto ships them)
//
// stdout: {"<type>": {"capacity": {...}, "allocatable": {...}, "labels": {...}}, ...}
//
//	quantities as exact decimal strings in base units (cores, bytes, counts);
//	labels are the requirements with exactly one value (what the node would carry).
//
// It exists so tests/test_allocatable_oracle.py can hold the Python model
// (src/eks_gpu/scheduling/allocatable.py) to Karpenter's code instead of to our reading of it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"

	v1 "github.com/aws/karpenter-provider-aws/pkg/apis/v1"
	"github.com/aws/karpenter-provider-aws/pkg/operator/options"
	"github.com/aws/karpenter-provider-aws/pkg/providers/instancetype"
)

type input struct {
	NodeClass     v1.EC2NodeClass             `json:"nodeClass"`
	InstanceTypes []ec2types.InstanceTypeInfo `json:"instanceTypes"`
}

type result struct {
	Capacity    map[string]string `json:"capacity"`
	Allocatable map[string]string `json:"allocatable"`
	Labels      map[string]string `json:"labels"`
}

func quantities(list corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for name, quantity := range list {
		out[string(name)] = quantity.AsDec().String()
	}
	return out
}

func run() error {
	var in input
	decoder := json.NewDecoder(os.Stdin)
	if err := decoder.Decode(&in); err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	// Karpenter's defaults: VM_MEMORY_OVERHEAD_PERCENT=0.075, RESERVED_ENIS=0
	ctx := options.ToContext(context.Background(), &options.Options{VMMemoryOverheadPercent: 0.075})
	resolver := instancetype.NewDefaultResolver("us-east-1")
	out := map[string]result{}
	for _, info := range in.InstanceTypes {
		it := resolver.Resolve(ctx, info, nil, &in.NodeClass)
		labels := map[string]string{}
		for key, requirement := range it.Requirements {
			if values := requirement.Values(); requirement.Operator() == corev1.NodeSelectorOpIn && len(values) == 1 {
				labels[key] = values[0]
			}
		}
		out[it.Name] = result{quantities(it.Capacity), quantities(it.Allocatable()), labels}
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	return encoder.Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "allocatable-oracle:", err)
		os.Exit(1)
	}
}
