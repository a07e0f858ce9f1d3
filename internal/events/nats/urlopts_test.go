package nats_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"

	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

// Bad URL options fail Open at once, before any connection, naming the
// option; so do options the program set differently.
func TestOpenRejectsBadOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: reaching the network would fail differently
	tests := []struct {
		query string
		opts  natsbus.Options
		want  string
	}{
		{"?replicas=0", natsbus.Options{}, "option replicas"},
		{"?replicas=6", natsbus.Options{}, "option replicas"},
		{"?stream=a.b", natsbus.Options{}, "option stream"},
		{"?subject_prefix=a.*", natsbus.Options{}, "option subject_prefix"},
		{"?bogus=1", natsbus.Options{}, `unknown events URL option "bogus"`},
		{"?stream=A", natsbus.Options{Stream: "B"}, `stream="A" conflicts with "B"`},
		{"?subject_prefix=p", natsbus.Options{SubjectPrefix: "q"}, `subject_prefix="p" conflicts`},
		{"?replicas=3", natsbus.Options{Replicas: 1}, "replicas=3 conflicts with 1"},
		{"", natsbus.Options{Stream: "has space"}, "stream name"},
		{"", natsbus.Options{Replicas: 9}, "replicas: 9"},
	}
	for _, tc := range tests {
		start := time.Now()
		_, err := natsbus.Open(context.Background(), "nats://"+addr+tc.query, tc.opts, natstest.Logger(t))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %+v) error = %v; want one containing %q", tc.query, tc.opts, err, tc.want)
		}
		if strings.Contains(fmt.Sprint(err), "connecting") || time.Since(start) > time.Second {
			t.Errorf("Open(%q) tried to connect before rejecting its options: %v", tc.query, err)
		}
	}
}

// Two deployments on one NATS server, each with its own stream and
// subject prefix from the URL, do not see each other's events.
func TestStreamsAndPrefixesIsolate(t *testing.T) {
	url, oa := natstest.NATS(t) // cleans up its stream; used for the first deployment
	_, ob := natstest.NATS(t)
	urlA := fmt.Sprintf("%s?stream=%s&subject_prefix=%s", url, oa.Stream, oa.SubjectPrefix)
	urlB := fmt.Sprintf("%s?stream=%s&subject_prefix=%s.b", url, ob.Stream, ob.SubjectPrefix)
	a := natstest.Open(t, urlA, natsbus.Options{Retention: time.Hour}, "deploy-a")
	b := natstest.Open(t, urlB, natsbus.Options{Retention: time.Hour}, "deploy-b")

	// The prefix is on the wire: a plain NATS subscriber on B's subjects
	// sees B's event under B's prefix.
	nc, err := gonats.Connect(url)
	if err != nil {
		t.Fatalf("%v\n%s", err, natstest.HowToStart)
	}
	defer nc.Close()
	wire, err := nc.SubscribeSync(ob.SubjectPrefix + ".b.osprey.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	gotA, gotB := make(chan string, 10), make(chan string, 10)
	subscribe(t, a, "", gotA)
	subscribe(t, b, "", gotB)
	// Each bus's events are stored in order; a foreign event stored in a
	// stream would come between its neighbours.
	publish(t, a, "a1")
	publish(t, b, "b1")
	publish(t, a, "a2")
	publish(t, b, "b2")
	expect(t, "bus a", gotA, "a1", 10*time.Second)
	expect(t, "bus a", gotA, "a2", 10*time.Second)
	expect(t, "bus b", gotB, "b1", 10*time.Second)
	expect(t, "bus b", gotB, "b2", 10*time.Second)

	m, err := wire.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no message on %s.b.osprey.>: %v", ob.SubjectPrefix, err)
	}
	if want := ob.SubjectPrefix + ".b." + events.ChannelKey("ch_1"); m.Subject != want || string(m.Data) != "b1" {
		t.Errorf("on the wire: %s %q, want %s \"b1\"", m.Subject, m.Data, want)
	}
}

// A node that names an existing stream with another subject prefix fails
// at Open instead of taking the stream over from its deployment.
func TestStreamOfOtherDeploymentRefused(t *testing.T) {
	url, o := natstest.NATS(t)
	natstest.Open(t, fmt.Sprintf("%s?stream=%s&subject_prefix=%s", url, o.Stream, o.SubjectPrefix), natsbus.Options{}, "deploy-a")
	_, err := natsbus.Open(context.Background(), fmt.Sprintf("%s?stream=%s&subject_prefix=%s.other", url, o.Stream, o.SubjectPrefix),
		natsbus.Options{}, natstest.Logger(t))
	if err == nil || !strings.Contains(err.Error(), "already carries subjects") || !strings.Contains(err.Error(), "stream=") {
		t.Fatalf("Open on another deployment's stream: err = %v; want one saying the stream carries other subjects", err)
	}
	// Another stream on the same subjects: JetStream refuses the overlap.
	_, o2 := natstest.NATS(t) // for its cleanup, should the stream be created after all
	_, err = natsbus.Open(context.Background(), fmt.Sprintf("%s?stream=%s&subject_prefix=%s", url, o2.Stream, o.SubjectPrefix),
		natsbus.Options{}, natstest.Logger(t))
	if err == nil || !strings.Contains(err.Error(), "overlap") || !strings.Contains(err.Error(), "subject_prefix=") {
		t.Fatalf("Open of a second stream on the same subjects: err = %v; want JetStream's overlap error", err)
	}
	t.Log(err)
}
