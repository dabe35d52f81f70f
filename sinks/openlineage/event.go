package openlineage

import (
	"encoding/json"

	"github.com/google/uuid"
)

// The event model: what this sink sends, written from the OpenLineage
// 2-0-2 JSON schema (spec/OpenLineage.json) and the facet schemas it uses
// (spec/facets). Field order is the schema's; facets are maps, so their
// keys come out sorted: the same record always gives the same bytes.

// SchemaURL is the $id of the OpenLineage schema the events follow.
const SchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

// RunEventSchemaURL is what every event's schemaURL says.
const RunEventSchemaURL = SchemaURL + "#/$defs/RunEvent"

// The facets the mappings fill, each with the _schemaURL of its
// definition in the embedded files (TestFacetURLs checks they are there).
const (
	parentFacetURL         = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	errorMessageFacetURL   = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	nominalTimeFacetURL    = "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	processingEngineURL    = "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	jobTypeFacetURL        = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	datasetVersionFacetURL = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
	// RecordFacetURL is the schema of the octoagent_record run facet, which
	// carries the record the event was made from (spec/octoagent/).
	RecordFacetURL = "https://raw.githubusercontent.com/octostore/agent/main/sinks/openlineage/spec/octoagent/OctoagentRecordRunFacet.json#/$defs/OctoagentRecordRunFacet"
)

// EventTypes are the values eventType may take.
var EventTypes = []string{"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}

// RunEvent is a RunEvent ($defs/RunEvent): a run of a job changed state.
type RunEvent struct {
	EventTime string    `json:"eventTime"`
	Producer  string    `json:"producer"`
	SchemaURL string    `json:"schemaURL"`
	EventType string    `json:"eventType"`
	Run       Run       `json:"run"`
	Job       Job       `json:"job"`
	Inputs    []Dataset `json:"inputs"`
	Outputs   []Dataset `json:"outputs"`
}

// Run is $defs/Run.
type Run struct {
	RunID  string         `json:"runId"`
	Facets map[string]any `json:"facets,omitempty"`
}

// Job is $defs/Job.
type Job struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// Dataset is $defs/InputDataset or $defs/OutputDataset, without input or
// output facets.
type Dataset struct {
	Namespace string         `json:"namespace"`
	Name      string         `json:"name"`
	Facets    map[string]any `json:"facets,omitempty"`
}

// BaseFacet is what every facet has ($defs/BaseFacet).
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// ParentRunFacet is the `parent` run facet: the run that started this one
// (a workflow run is the parent of its steps).
type ParentRunFacet struct {
	BaseFacet
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// ParentRun names the parent run.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob names the parent run's job.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ErrorMessageRunFacet is the `errorMessage` run facet.
type ErrorMessageRunFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
	StackTrace          string `json:"stackTrace,omitempty"`
}

// NominalTimeRunFacet is the `nominalTime` run facet: when the run was
// scheduled for.
type NominalTimeRunFacet struct {
	BaseFacet
	NominalStartTime string `json:"nominalStartTime"`
	NominalEndTime   string `json:"nominalEndTime,omitempty"`
}

// ProcessingEngineRunFacet is the `processing_engine` run facet.
type ProcessingEngineRunFacet struct {
	BaseFacet
	Version                   string `json:"version"`
	Name                      string `json:"name,omitempty"`
	OpenlineageAdapterVersion string `json:"openlineageAdapterVersion,omitempty"`
}

// JobTypeJobFacet is the `jobType` job facet.
type JobTypeJobFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// DatasetVersionDatasetFacet is the `version` dataset facet (an image's
// tag or digest).
type DatasetVersionDatasetFacet struct {
	BaseFacet
	DatasetVersion string `json:"datasetVersion"`
}

// RecordRunFacet is the custom `octoagent_record` run facet (its schema is
// spec/octoagent/OctoagentRecordRunFacet.json): the record the event was
// made from, so that the fields no standard facet holds are not lost.
type RecordRunFacet struct {
	BaseFacet
	ID     string            `json:"id"`
	Kind   string            `json:"kind"`
	Entity map[string]string `json:"entity,omitempty"`
	Fields json.RawMessage   `json:"fields"`
}

// runNamespace is the UUID namespace of run ids: runId =
// UUIDv5(runNamespace, job namespace + "\x00" + job name + "\x00" + key).
var runNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/octostore/agent/sinks/openlineage#runId"))

// RunID returns the deterministic run id of the run named key of a job:
// the same on every agent, after every restart, for every replay, so that
// the START and the end of a run (and a step's parent link) meet.
func RunID(jobNamespace, jobName, key string) string {
	return uuid.NewSHA1(runNamespace, []byte(jobNamespace+"\x00"+jobName+"\x00"+key)).String()
}
