package agent

import "unsafe"

// unsafeString views b as a string without copying. Only for callers that do
// not keep the string past b's lifetime and never see b change meanwhile.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
