package httpbatch

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent/decode"
)

// Decode decodes a sink block whose own attributes are in cfg (a struct
// with gohcl tags and a `hcl:",remain"` field, remain) and whose shared
// attributes go into common.
func Decode(body hcl.Body, ctx *hcl.EvalContext, cfg any, remain *hcl.Body, common *Common) hcl.Diagnostics {
	return decode.Split(body, ctx, cfg, remain, common)
}
