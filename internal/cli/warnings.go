package cli

import "fmt"

// printWarning prints a warning of the server on stderr, as kubectl does.
func (o *rootOptions) printWarning(text string) {
	fmt.Fprintf(o.streams.Err, "Warning: %s\n", text)
}
