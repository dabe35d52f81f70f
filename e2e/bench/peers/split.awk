# The mawk peer: split an nginx combined line on spaces and print JSON, with
# no escaping and no validation (the floor a shell pipeline gives).
{
  printf "{\"client_ip\":\"%s\",\"user\":\"%s\",\"time\":\"%s %s\",\"method\":\"%s\",\"path\":\"%s\",\"protocol\":\"%s\",\"status\":%s,\"bytes\":\"%s\"}\n", $1, $3, substr($4, 2), substr($5, 1, length($5) - 1), substr($6, 2), $7, substr($8, 1, length($8) - 1), $9, $10
}
