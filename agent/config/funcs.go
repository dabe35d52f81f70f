package config

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// evalContext returns the functions a config file may call: env("VAR"),
// env("VAR", "default"), and file("path"), with relative paths resolved
// against the directory of the file that calls it; and the variable
// config_dir, that directory.
func evalContext(filename string) *hcl.EvalContext {
	dir := filepath.Dir(filename)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"config_dir": cty.StringVal(dir)},
		Functions: map[string]function.Function{
			"env": function.New(&function.Spec{
				Description: "Returns the value of an environment variable; fails if it is unset and no default is given.",
				Params:      []function.Parameter{{Name: "name", Type: cty.String}},
				VarParam:    &function.Parameter{Name: "default", Type: cty.String},
				Type:        function.StaticReturnType(cty.String),
				Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
					name := args[0].AsString()
					if len(args) > 2 {
						return cty.NilVal, fmt.Errorf("env takes a variable name and at most one default, got %d arguments", len(args))
					}
					if v, ok := os.LookupEnv(name); ok {
						return cty.StringVal(v), nil
					}
					if len(args) > 1 {
						return args[1], nil
					}
					return cty.NilVal, fmt.Errorf("environment variable %s is not set; set it, or give a default: env(%q, \"...\")", name, name)
				},
			}),
			"file": function.New(&function.Spec{
				Description: "Returns the content of a file, relative to the config file's directory.",
				Params:      []function.Parameter{{Name: "path", Type: cty.String}},
				Type:        function.StaticReturnType(cty.String),
				Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
					p := args[0].AsString()
					if !filepath.IsAbs(p) {
						p = filepath.Join(dir, p)
					}
					b, err := os.ReadFile(p)
					if err != nil {
						return cty.NilVal, fmt.Errorf("cannot read %s: %w", p, err)
					}
					return cty.StringVal(string(b)), nil
				},
			}),
		},
	}
}

// untrustedContext is evalContext for text from someone who may not read
// the host's environment or files (the rule playground's page): env() and
// file() are there, so a config written for a host still loads, but fail
// with the reason.
func untrustedContext() *hcl.EvalContext {
	refuse := func(name string, params ...function.Parameter) function.Function {
		return function.New(&function.Spec{
			Params:   params[:1],
			VarParam: &function.Parameter{Name: "more", Type: cty.String},
			Type:     function.StaticReturnType(cty.String),
			Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
				return cty.NilVal, fmt.Errorf("%s() cannot read the host here (the rule playground's editor): write the value itself", name)
			},
		})
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"config_dir": cty.StringVal(".")},
		Functions: map[string]function.Function{
			"env":  refuse("env", function.Parameter{Name: "name", Type: cty.String}),
			"file": refuse("file", function.Parameter{Name: "path", Type: cty.String}),
		},
	}
}
