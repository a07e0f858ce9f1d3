// Command osprey is the Osprey video platform in one binary; see internal/cli.
package main

import (
	"os"

	"github.com/ospreyvideo/osprey/internal/app"
	"github.com/ospreyvideo/osprey/internal/cli"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Options{Serve: app.Run, Edge: app.RunEdge, Version: version}))
}
