package rules

// Sample lines of the formats Logstash users grok most, written from each
// format's documentation, with the captures Logstash gives.
var familyCases = []struct {
	ecs     string // "v1" or "disabled"
	pattern string
	line    string
	want    map[string]any // dotted paths for nested fields
}{
	// Apache httpd (mod_log_config "combined"; error log of 2.4)
	{"v1", "%{HTTPD_COMBINEDLOG}", `83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)"`,
		map[string]any{"source.address": "83.149.9.216", "timestamp": "17/May/2015:10:05:03 +0000", "http.request.method": "GET", "url.original": "/presentations/logstash-monitorama-2013/images/kibana-search.png", "http.version": "1.1", "http.response.status_code": int64(200), "http.response.body.bytes": int64(203023), "http.request.referrer": "http://semicomplete.com/presentations/logstash-monitorama-2013/", "user_agent.original": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)"}},
	{"disabled", "%{COMBINEDAPACHELOG}", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
		map[string]any{"clientip": "127.0.0.1", "ident": "-", "auth": "frank", "timestamp": "10/Oct/2000:13:55:36 -0700", "verb": "GET", "request": "/apache_pb.gif", "httpversion": "1.0", "response": "200", "bytes": "2326", "referrer": `"http://www.example.com/start.html"`, "agent": `"Mozilla/4.08 [en] (Win98; I ;Nav)"`}},
	{"v1", "%{HTTPD_ERRORLOG}", `[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist: /usr/local/apache2/htdocs/favicon.ico`,
		map[string]any{"timestamp": "Fri Sep 09 10:42:29.902022 2011", "apache.error.module": "core", "log.level": "error", "process.pid": int64(35708), "process.thread.id": int64(4328636416), "source.address": "72.15.99.187", "error.code": "File does not exist", "message": "/usr/local/apache2/htdocs/favicon.ico"}},
	// syslog (RFC 3164)
	{"v1", "%{SYSLOGLINE}", `Mar 16 00:01:25 evita postfix/smtpd[1713]: connect from camomile.cloud9.net[168.100.1.3]`,
		map[string]any{"timestamp": "Mar 16 00:01:25", "host.hostname": "evita", "process.name": "postfix/smtpd", "process.pid": int64(1713), "message": "connect from camomile.cloud9.net[168.100.1.3]"}},
	{"disabled", "%{SYSLOGBASE} %{GREEDYDATA:message}", `Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8`,
		map[string]any{"timestamp": "Oct 11 22:14:15", "logsource": "mymachine", "program": "su", "message": "'su root' failed for lonvick on /dev/pts/8"}},
	// HAProxy (HTTP log format)
	{"v1", "%{HAPROXYHTTP}", `Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`,
		map[string]any{"source.address": "10.0.1.2", "source.port": int64(33317), "haproxy.frontend_name": "http-in", "haproxy.backend_name": "static", "haproxy.server_name": "srv1", "http.response.status_code": int64(200), "http.request.method": "GET", "url.original": "/index.html", "http.version": "1.1"}},
	// Java (log4j-style and a stack trace frame)
	{"v1", "%{JAVASTACKTRACEPART}", `  at com.example.Foo.bar(Foo.java:42)`,
		map[string]any{"java.log.origin.class.name": "com.example.Foo", "log.origin.function": "bar", "log.origin.file.name": "Foo.java", "log.origin.file.line": int64(42)}},
	{"disabled", "%{JAVASTACKTRACEPART}", `  at com.example.Foo.bar(Foo.java:42)`,
		map[string]any{"class": "com.example.Foo", "method": "bar", "file": "Foo.java", "line": "42"}},
	// Redis (server log)
	{"v1", "%{REDISTIMESTAMP}", `14 Nov 07:01:22.119`, map[string]any{}},
	{"v1", "%{REDISMONLOG}", `1470637867.953466 [0 195.168.1.1:52500] "info"`,
		map[string]any{"timestamp": "1470637867.953466", "redis.database.id": "0", "client.ip": "195.168.1.1", "client.port": int64(52500), "redis.command.name": "info"}},
	// MongoDB 3.x log
	{"v1", "%{MONGO3_LOG}", `2020-08-13T11:58:09.470+0300 I NETWORK  [initandlisten] waiting for connections on port 27017`,
		map[string]any{"timestamp": "2020-08-13T11:58:09.470+0300", "log.level": "I", "mongodb.component": "NETWORK", "mongodb.context": "initandlisten", "message": "waiting for connections on port 27017"}},
	// PostgreSQL (log_line_prefix '%m [%p] ')
	{"v1", "%{POSTGRESQL}", `11-21-2026 05:41:35 UTC postgres 5f3a2b.1c 4242`,
		map[string]any{"timestamp": "11-21-2026 05:41:35", "event.timezone": "UTC", "user.name": "postgres", "postgresql.log.connection_id": "5f3a2b.1c", "process.pid": int64(4242)}},
	// AWS (S3 server access log, ELB)
	{"v1", "%{ELB_ACCESS_LOG}", `2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1"`,
		map[string]any{"timestamp": "2015-05-13T23:39:43.945958Z", "aws.elb.name": "my-loadbalancer", "source.ip": "192.168.131.39", "source.port": int64(2817), "aws.elb.backend.ip": "10.0.0.1", "aws.elb.backend.port": int64(80), "http.response.status_code": int64(200), "http.request.method": "GET", "url.original": "http://www.example.com:80/", "http.version": "1.1"}},
	// Bro/Zeek http.log (TSV)
	{"disabled", "%{BRO_CONN}", "1432555199.633017\tCXWfTK3LRdiuQxBbM6\t10.0.0.1\t51227\t192.168.0.1\t53\tudp\tdns\t0.000330\t35\t78\tSF\t-\t0\tDd\t1\t63\t1\t106\t(empty)",
		map[string]any{"ts": "1432555199.633017", "uid": "CXWfTK3LRdiuQxBbM6", "orig_h": "10.0.0.1", "orig_p": "51227", "resp_h": "192.168.0.1", "resp_p": "53", "proto": "udp", "service": "dns"}},
	// Firewalls (iptables via syslog, Cisco ASA)
	{"v1", "%{IPTABLES}", `IN=eth0 OUT= MAC=00:0c:29:aa:bb:cc:00:50:56:dd:ee:ff:08:00 SRC=192.168.1.10 DST=192.168.1.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=12345 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=29200 RES=0x00 SYN URGP=0`,
		map[string]any{"observer.ingress.interface.name": "eth0", "source.ip": "192.168.1.10", "destination.ip": "192.168.1.1", "network.transport": "TCP", "source.port": int64(51234), "destination.port": int64(22)}},
	{"v1", "%{CISCOFW106023}", `Deny tcp src outside:192.0.2.10/4855 dst inside:198.51.100.5/80 by access-group "outside_access_in" [0x0, 0x0]`,
		map[string]any{"cisco.asa.outcome": "Deny", "cisco.asa.network.transport": "tcp", "observer.ingress.interface.name": "outside", "source.ip": "192.0.2.10", "source.port": int64(4855), "observer.egress.interface.name": "inside", "destination.ip": "198.51.100.5", "destination.port": int64(80), "cisco.asa.rule_name": "outside_access_in"}},
	// The common building blocks, used alone as tests (no field: a match is a match)
	{"v1", "%{LOGLEVEL}", `WARN`, map[string]any{}},
	{"v1", "%{IP:[source][ip]} %{NUMBER:[event][duration]:float}", `2001:db8::ff00:42:8329 0.25`, map[string]any{"source.ip": "2001:db8::ff00:42:8329", "event.duration": 0.25}},
	{"v1", "%{QUOTEDSTRING:q}", `say "hello \"you\"" now`, map[string]any{"q": `"hello \"you\""`}},
	{"v1", "%{TIMESTAMP_ISO8601:t} %{UNIXPATH:p}", `2026-11-21T05:41:35Z /var/log/a_b-c.log`, map[string]any{"t": "2026-11-21T05:41:35Z", "p": "/var/log/a_b-c.log"}},
}
