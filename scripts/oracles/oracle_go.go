// Command oracle_go judges "a<TAB>b" pairs (stdin) with golang.org/x/mod/semver.Compare (a "v" is prepended
// when missing, as OSV Go records omit it); prints "a<TAB>b<TAB>-1|0|1", dropping invalid versions.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func withV(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		fields := strings.Split(in.Text(), "\t")
		a, b := withV(fields[0]), withV(fields[1])
		if !semver.IsValid(a) || !semver.IsValid(b) {
			continue
		}
		fmt.Fprintf(out, "%s\t%s\t%d\n", fields[0], fields[1], semver.Compare(a, b))
	}
}
