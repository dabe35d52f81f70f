package httpbatch

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// Decode decodes a sink block whose own attributes are in cfg (a struct
// with gohcl tags and a `hcl:",remain"` field, remain) and whose shared
// attributes go into common.
func Decode(body hcl.Body, ctx *hcl.EvalContext, cfg any, remain *hcl.Body, common *Common) hcl.Diagnostics {
	d := gohcl.DecodeBody(body, ctx, cfg)
	if d.HasErrors() || *remain == nil {
		return d
	}
	return append(d, gohcl.DecodeBody(*remain, ctx, common)...)
}
