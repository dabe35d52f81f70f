package main

import (
	"strings"
	"testing"
)

// A spec written for this test in the style of logstash-patterns-core's
// (describe_pattern, let, contexts, ecs_compatibility?, should/expect,
// hash_including, a line that should not match, a pending example and one
// construct the reader does not know).
const synthetic = `# encoding: utf-8
require "spec_helper"

ALLOWED = ['source', 'http', 'url', 'user', 'timestamp'].freeze

describe_pattern "HTTPD_COMMONLOG", ['legacy', 'ecs-v1'] do
  let(:message) { '192.0.2.1 - alice [21/Nov/2026:05:41:35 +0000] "GET /index.html HTTP/1.1" 200 512' }

  include_examples 'top-level namespaces', ALLOWED, if: -> { ecs_compatibility? }

  it "captures" do
    if ecs_compatibility?
      expect(grok).to include("source" => { "address" => "192.0.2.1" },
                              "http" => hash_including("response" => hash_including("status_code" => 200)))
      should include "user" => { "name" => "alice" }
    else
      expect(subject).to include('clientip' => '192.0.2.1', "response" => "200",
        'bytes' => "999") # wrong on purpose: counted as not equal
    end
  end

  context "a line of another format" do
    let(:message) { "no log line here" }
    it { expect(grok['tags']).to include("_grokparsefailure") }
  end

  it "is pending" do
    pending "known to fail"
    expect(grok).to include("nope" => 1)
  end

  it "uses what the reader does not know" do
    expect(grok).to satisfy { |g| g.size > 1 }
  end
end

describe "NUMBER" do
  it "matches" do
    expect(grok_match(subject, "took #{'0.5'}s")).to pass
    expect(grok_match(subject, %w{x y}.join)).not_to pass
  end
end
`

func TestMeasuresASyntheticSpec(t *testing.T) {
	tl := measure([]string{"synthetic_spec.rb"}, map[string]string{"synthetic_spec.rb": synthetic}, newRunner())
	bySet, _ := tl.rows()
	leg, ecs := bySet["legacy"], bySet["ecs-v1"]
	// legacy: the access line and NUMBER's line should match; 3 captures,
	// one wrong on purpose; two lines should not match (the other format,
	// "xy").
	if leg.shouldMatch != 2 || leg.matched != 2 || leg.captures != 3 || leg.equal != 2 || leg.shouldNot != 2 || leg.notMatched != 2 {
		t.Errorf("legacy row %+v", *leg)
	}
	// ecs-v1: nested ECS fields and the :int status.
	if ecs.shouldMatch != 1 || ecs.matched != 1 || ecs.captures != 3 || ecs.equal != 3 || ecs.shouldNot != 1 || ecs.notMatched != 1 {
		t.Errorf("ecs-v1 row %+v", *ecs)
	}
	if tl.pending != 2 {
		t.Errorf("pending %d, want 2 (one per mode)", tl.pending)
	}
	if len(tl.unread) != 2 || !strings.Contains(tl.unread[0].why, "satisfy") {
		t.Errorf("unread %+v, want the satisfy example in both modes", tl.unread)
	}
	var out strings.Builder
	tl.print(&out, false)
	if !strings.Contains(out.String(), "| legacy | 2 | 2 | 2 of 3 (66.7%) |") {
		t.Errorf("table:\n%s", out.String())
	}
}
