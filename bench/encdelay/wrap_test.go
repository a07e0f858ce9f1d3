package main

import (
	"slices"
	"strings"
	"testing"
)

func TestEditsApply(t *testing.T) {
	t.Parallel()
	args := strings.Fields("-probesize 1 -threads 1 -copyts -f mpegts -i pipe:0 -map [v0] -c:v:0 libx264 -preset:v:0 veryfast -x264-params:v:0 bframes=0 " +
		"-map 0:1 -c:a aac -map [v2] -c:v:1 libx264 -x264-params:v:1 bframes=0 -muxdelay 0 -max_interleave_delta 1 -f mpegts pipe:1")
	tests := []struct {
		name string
		e    edits
		want string
	}{
		{"none", edits{}, strings.Join(args, " ")},
		{"head", fromHead(edits{}), "-probesize 1 -copyts -f mpegts -i pipe:0 -map [v0] -c:v:0 libx264 -preset:v:0 veryfast " +
			"-map 0:1 -c:a aac -map [v2] -c:v:1 libx264 -muxdelay 0 -f mpegts pipe:1"},
		{"added", edits{Del: []string{"-x264-params"}, In: []string{"-fflags", "nobuffer"}, Out: []string{"-flush_packets", "1"}, V: []string{"-tune", "zerolatency"}},
			"-probesize 1 -threads 1 -copyts -fflags nobuffer -f mpegts -i pipe:0 -map [v0] -c:v:0 libx264 -tune:v:0 zerolatency -preset:v:0 veryfast " +
				"-map 0:1 -c:a aac -map [v2] -c:v:1 libx264 -tune:v:1 zerolatency -muxdelay 0 -max_interleave_delta 1 -flush_packets 1 -f mpegts pipe:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(args)
			if got := strings.Join(tt.e.apply(in), " "); got != tt.want {
				t.Errorf("apply:\n got %s\nwant %s", got, tt.want)
			}
			if !slices.Equal(in, args) {
				t.Error("apply changed its argument")
			}
		})
	}
}
