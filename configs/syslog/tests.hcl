# Tests of the syslog pack: real lines from the RFCs and rsyslog's
# documentation (each group names its source), then malformed lines. Run
# at the tests' time, 2026-01-01: an RFC 3164 line has no year, so its
# year is 2025 (the line is not in the future).
# RFC 5424, section 6.5 (Examples), examples 1 to 4
# (https://www.rfc-editor.org/rfc/rfc5424#section-6.5), without the BOM.
test "syslog_rfc5424_example1" {
  transform = transform.syslog
  input     = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8"

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "su"
      facility = "auth"
      facility_code = 4
      format = "rfc5424"
      hostname = "mymachine.example.com"
      message = "'su root' failed for lonvick on /dev/pts/8"
      msgid = "ID47"
      priority = 34
      severity = "crit"
      severity_code = 2
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_example2" {
  transform = transform.syslog
  input     = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts."

  expect {
    kind = "syslog_message"
    time = "2003-08-24T12:14:15.000003Z"
    fields = {
      appname = "myproc"
      facility = "local4"
      facility_code = 20
      format = "rfc5424"
      hostname = "192.0.2.1"
      message = "%% It's time to make the do-nuts."
      priority = 165
      procid = "8710"
      severity = "notice"
      severity_code = 5
      timestamp = "2003-08-24T12:14:15.000003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_example3" {
  transform = transform.syslog
  input     = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] An application event log entry..."

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "evntslog"
      facility = "local4"
      facility_code = 20
      format = "rfc5424"
      hostname = "mymachine.example.com"
      message = "An application event log entry..."
      msgid = "ID47"
      priority = 165
      severity = "notice"
      severity_code = 5
      structured_data = { "exampleSDID@32473" = { eventID = "1011", eventSource = "Application", iut = "3" } }
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_example4" {
  transform = transform.syslog
  input     = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]"

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "evntslog"
      facility = "local4"
      facility_code = 20
      format = "rfc5424"
      hostname = "mymachine.example.com"
      msgid = "ID47"
      priority = 165
      severity = "notice"
      severity_code = 5
      structured_data = { "examplePriority@32473" = { class = "high" }, "exampleSDID@32473" = { eventID = "1011", eventSource = "Application", iut = "3" } }
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

# RFC 5424, section 6.2.3.1 (timestamp examples) and section 7 (the
# registered SD-IDs timeQuality, origin, meta), in messages of the
# section 6.5 shape.
test "syslog_rfc5424_timestamp_fraction" {
  transform = transform.syslog
  input     = "<13>1 1985-04-12T23:20:50.52Z host.example.com app 42 - - timestamp example 1"

  expect {
    kind = "syslog_message"
    time = "1985-04-12T23:20:50.52Z"
    fields = {
      appname = "app"
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      hostname = "host.example.com"
      message = "timestamp example 1"
      priority = 13
      procid = "42"
      severity = "notice"
      severity_code = 5
      timestamp = "1985-04-12T23:20:50.52Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_timestamp_offset" {
  transform = transform.syslog
  input     = "<13>1 1985-04-12T19:20:50.52-04:00 host.example.com app 42 - - timestamp example 2"

  expect {
    kind = "syslog_message"
    time = "1985-04-12T23:20:50.52Z"
    fields = {
      appname = "app"
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      hostname = "host.example.com"
      message = "timestamp example 2"
      priority = 13
      procid = "42"
      severity = "notice"
      severity_code = 5
      timestamp = "1985-04-12T23:20:50.52Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_nil_timestamp" {
  transform = transform.syslog
  input     = "<13>1 - host.example.com app 42 - - a message with the NILVALUE as timestamp"

  expect {
    kind = "syslog_message"
    time = "2026-01-01T00:00:00Z"
    fields = {
      appname = "app"
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      hostname = "host.example.com"
      message = "a message with the NILVALUE as timestamp"
      priority = 13
      procid = "42"
      severity = "notice"
      severity_code = 5
      version = 1
    }
  }
}

test "syslog_rfc5424_time_quality" {
  transform = transform.syslog
  input     = "<29>1 2003-10-11T22:14:15.003Z mymachine.example.com ntpd 1234 - [timeQuality tzKnown=\"1\" isSynced=\"1\" syncAccuracy=\"60000000\"] clock synchronised"

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "ntpd"
      facility = "daemon"
      facility_code = 3
      format = "rfc5424"
      hostname = "mymachine.example.com"
      message = "clock synchronised"
      priority = 29
      procid = "1234"
      severity = "notice"
      severity_code = 5
      structured_data = { timeQuality = { isSynced = "1", syncAccuracy = "60000000", tzKnown = "1" } }
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_origin" {
  transform = transform.syslog
  input     = "<14>1 2003-10-11T22:14:15.003Z mymachine.example.com relay - - [origin ip=\"192.0.2.1\" software=\"rsyslogd\" swVersion=\"8.2312.0\"] relayed"

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "relay"
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      hostname = "mymachine.example.com"
      message = "relayed"
      priority = 14
      severity = "info"
      severity_code = 6
      structured_data = { origin = { ip = "192.0.2.1", software = "rsyslogd", swVersion = "8.2312.0" } }
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_meta_escaped" {
  transform = transform.syslog
  input     = "<14>1 2003-10-11T22:14:15.003Z mymachine.example.com app - - [meta sequenceId=\"29\" sysUpTime=\"37\" language=\"EN\"][exampleSDID@32473 note=\"a \\\"quoted\\\" \\] bracket\"] escaped values"

  expect {
    kind = "syslog_message"
    time = "2003-10-11T22:14:15.003Z"
    fields = {
      appname = "app"
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      hostname = "mymachine.example.com"
      message = "escaped values"
      priority = 14
      severity = "info"
      severity_code = 6
      structured_data = { "exampleSDID@32473" = { note = "a \"quoted\" ] bracket" }, meta = { language = "EN", sequenceId = "29", sysUpTime = "37" } }
      timestamp = "2003-10-11T22:14:15.003Z"
      version = 1
    }
  }
}

test "syslog_rfc5424_all_nil" {
  transform = transform.syslog
  input     = "<14>1 - - - - - -"

  expect {
    kind = "syslog_message"
    time = "2026-01-01T00:00:00Z"
    fields = {
      facility = "user"
      facility_code = 1
      format = "rfc5424"
      priority = 14
      severity = "info"
      severity_code = 6
      version = 1
    }
  }
}

# rsyslog's RSYSLOG_SyslogProtocol23Format (rsyslog documentation,
# "Templates", reserved template names), as sent by rsyslog to a remote
# collector.
test "syslog_rsyslog_protocol23" {
  transform = transform.syslog
  input     = "<38>1 2026-11-21T05:41:35.123456+01:00 web-1 sshd 1234 - - Accepted publickey for alice from 203.0.113.9 port 52311 ssh2"

  expect {
    kind = "syslog_message"
    time = "2026-11-21T04:41:35.123456Z"
    fields = {
      appname = "sshd"
      facility = "auth"
      facility_code = 4
      format = "rfc5424"
      hostname = "web-1"
      message = "Accepted publickey for alice from 203.0.113.9 port 52311 ssh2"
      priority = 38
      procid = "1234"
      severity = "info"
      severity_code = 6
      timestamp = "2026-11-21T04:41:35.123456Z"
      version = 1
    }
  }
}

test "syslog_rsyslog_protocol23_kernel" {
  transform = transform.syslog
  input     = "<4>1 2026-11-21T05:41:36.000001+01:00 web-1 kernel - - - [12345.678901] Out of memory: Killed process 4321 (java)"

  expect {
    kind = "syslog_message"
    time = "2026-11-21T04:41:36.000001Z"
    fields = {
      appname = "kernel"
      facility = "kern"
      facility_code = 0
      format = "rfc5424"
      hostname = "web-1"
      message = "[12345.678901] Out of memory: Killed process 4321 (java)"
      priority = 4
      severity = "warning"
      severity_code = 4
      timestamp = "2026-11-21T04:41:36.000001Z"
      version = 1
    }
  }
}

# RFC 3164, section 5.4 (Examples)
# (https://www.rfc-editor.org/rfc/rfc3164#section-5.4).
test "syslog_rfc3164_example1" {
  transform = transform.syslog
  input     = "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"

  expect {
    kind = "syslog_message"
    time = "2025-10-11T22:14:15Z"
    fields = {
      appname = "su"
      facility = "auth"
      facility_code = 4
      format = "rfc3164"
      hostname = "mymachine"
      message = "'su root' failed for lonvick on /dev/pts/8"
      priority = 34
      severity = "crit"
      severity_code = 2
      timestamp = "2025-10-11T22:14:15Z"
    }
  }
}

test "syslog_rfc3164_example2" {
  transform = transform.syslog
  input     = "<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!"

  expect {
    kind = "syslog_message"
    time = "2025-02-05T17:32:18Z"
    fields = {
      facility = "user"
      facility_code = 1
      format = "rfc3164"
      hostname = "10.0.0.99"
      message = "Use the BFG!"
      priority = 13
      severity = "notice"
      severity_code = 5
      timestamp = "2025-02-05T17:32:18Z"
    }
  }
}

test "syslog_rfc3164_example3" {
  transform = transform.syslog
  input     = "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%"

  expect {
    kind = "syslog_message"
    time = "2025-08-24T05:34:00Z"
    fields = {
      facility = "local4"
      facility_code = 20
      format = "rfc3164"
      hostname = "CST"
      message = "1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%"
      priority = 165
      severity = "notice"
      severity_code = 5
      timestamp = "2025-08-24T05:34:00Z"
    }
  }
}

test "syslog_rfc3164_example5" {
  transform = transform.syslog
  input     = "<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"

  expect {
    kind = "syslog_message"
    time = "2025-10-22T10:52:12Z"
    fields = {
      facility = "kern"
      facility_code = 0
      format = "rfc3164"
      hostname = "scapegoat"
      message = "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"
      priority = 0
      severity = "emerg"
      severity_code = 0
      timestamp = "2025-10-22T10:52:12Z"
    }
  }
}

# rsyslog's RSYSLOG_TraditionalFileFormat, the /var/log/syslog lines of
# Debian and Ubuntu (no PRI), and RSYSLOG_FileFormat (RFC 3339 time);
# rsyslog documentation, "Templates".
test "syslog_traditional_sshd" {
  transform = transform.syslog
  input     = "Nov 21 05:41:35 web-1 sshd[1234]: Accepted publickey for alice from 203.0.113.9 port 52311 ssh2"

  expect {
    kind = "syslog_message"
    time = "2025-11-21T05:41:35Z"
    fields = {
      appname = "sshd"
      format = "rfc3164"
      hostname = "web-1"
      message = "Accepted publickey for alice from 203.0.113.9 port 52311 ssh2"
      procid = "1234"
      timestamp = "2025-11-21T05:41:35Z"
    }
  }
}

test "syslog_traditional_cron" {
  transform = transform.syslog
  input     = "Nov 21 06:25:01 web-1 CRON[20466]: (root) CMD (test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; })"

  expect {
    kind = "syslog_message"
    time = "2025-11-21T06:25:01Z"
    fields = {
      appname = "CRON"
      format = "rfc3164"
      hostname = "web-1"
      message = "(root) CMD (test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; })"
      procid = "20466"
      timestamp = "2025-11-21T06:25:01Z"
    }
  }
}

test "syslog_traditional_systemd" {
  transform = transform.syslog
  input     = "Nov 21 06:25:02 web-1 systemd[1]: Started Session 42 of User alice."

  expect {
    kind = "syslog_message"
    time = "2025-11-21T06:25:02Z"
    fields = {
      appname = "systemd"
      format = "rfc3164"
      hostname = "web-1"
      message = "Started Session 42 of User alice."
      procid = "1"
      timestamp = "2025-11-21T06:25:02Z"
    }
  }
}

test "syslog_traditional_kernel" {
  transform = transform.syslog
  input     = "Nov 21 06:25:03 web-1 kernel: [12345.678901] EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro"

  expect {
    kind = "syslog_message"
    time = "2025-11-21T06:25:03Z"
    fields = {
      appname = "kernel"
      format = "rfc3164"
      hostname = "web-1"
      message = "[12345.678901] EXT4-fs (sda1): re-mounted. Opts: errors=remount-ro"
      timestamp = "2025-11-21T06:25:03Z"
    }
  }
}

test "syslog_fileformat_rfc3339" {
  transform = transform.syslog
  input     = "2026-11-21T05:41:35.123456+01:00 web-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update"

  expect {
    kind = "syslog_message"
    time = "2026-11-21T04:41:35.123456Z"
    fields = {
      appname = "sudo"
      format = "rfc3164"
      hostname = "web-1"
      message = "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update"
      timestamp = "2026-11-21T04:41:35.123456Z"
    }
  }
}

test "syslog_with_pri_sshd" {
  transform = transform.syslog
  input     = "<86>Nov 21 05:41:35 web-1 sshd[1234]: pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"

  expect {
    kind = "syslog_message"
    time = "2025-11-21T05:41:35Z"
    fields = {
      appname = "sshd"
      facility = "authpriv"
      facility_code = 10
      format = "rfc3164"
      hostname = "web-1"
      message = "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"
      priority = 86
      procid = "1234"
      severity = "info"
      severity_code = 6
      timestamp = "2025-11-21T05:41:35Z"
    }
  }
}

# Malformed lines: not syslog, a PRI out of range, a version out of range,
# a timestamp RFC 5424 forbids (leap second, section 6.2.3.1), and
# structured data left open.
test "syslog_not_syslog" {
  transform = transform.syslog
  input     = "hello world"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.syslog"
    error  = "not a syslog line (rfc3164: expecting a sequence number (fro"
  }
}

test "syslog_bad_pri" {
  transform = transform.syslog
  input     = "<999>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - bad priority"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.syslog"
    error  = "not a syslog line (rfc5424: expecting a priority value in th"
  }
}

test "syslog_bad_version" {
  transform = transform.syslog
  input     = "<34>1000 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - bad version"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.syslog"
    error  = "not an RFC 3164 line (no timestamp after the PRI, or no PRI "
  }
}

test "syslog_leap_second" {
  transform = transform.syslog
  input     = "<34>1 1990-12-31T23:59:60Z mymachine.example.com su - ID47 - leap second"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.syslog"
    error  = "not a syslog line (rfc5424: expecting a RFC3339MICRO timesta"
  }
}

test "syslog_open_sd" {
  transform = transform.syslog
  input     = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut=\"3\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.syslog"
    error  = "not a syslog line (rfc5424: expecting a structured data para"
  }
}

