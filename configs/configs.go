// Package configs embeds the shipped rule packs (their HCL files and
// samples) so that `octoagent playground` can offer them with no files
// beside the binary.
package configs

import "embed"

// FS holds every pack directory's *.hcl files, the shared schemas and
// the sample inputs.
//
//go:embed */*.hcl */*/*.hcl samples kafka-ci-events/*.jsonl
var FS embed.FS
