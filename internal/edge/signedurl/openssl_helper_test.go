package signedurl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// openSSL runs the real openssl command in a temporary directory, so that
// test vectors come from an implementation independent of this package.
type openSSL struct {
	bin, dir string
}

// needOpenSSL fails (never skips) the test when openssl is missing.
func needOpenSSL(t *testing.T) openSSL {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("the openssl command is required for these tests (apt-get install -y openssl): %v", err)
	}
	return openSSL{bin: bin, dir: t.TempDir()}
}

// run runs a shell pipeline in o.dir with $OPENSSL set, and returns stdout.
func (o openSSL) run(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), "OPENSSL="+o.bin)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v\n%s", script, err, stderr)
	}
	return string(out)
}

func (o openSSL) path(name string) string { return filepath.Join(o.dir, name) }

func (o openSSL) read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(o.path(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// osslKey is an RSA key pair made by openssl.
type osslKey struct {
	o    openSSL
	name string // files <name>.pem (PKCS #8 private), <name>.pub.pem (PKIX public)
}

// genKey makes an RSA key of bits bits with `openssl genpkey`.
func (o openSSL) genKey(t *testing.T, name string, bits int) osslKey {
	t.Helper()
	o.run(t, `"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:`+strconv.Itoa(bits)+` -out `+name+`.pem 2>/dev/null &&
		"$OPENSSL" pkey -in `+name+`.pem -pubout -out `+name+`.pub.pem`)
	return osslKey{o: o, name: name}
}

func (k osslKey) privPEM(t *testing.T) []byte { return k.o.read(t, k.name+".pem") }
func (k osslKey) pubPEM(t *testing.T) []byte  { return k.o.read(t, k.name+".pub.pem") }

// sign signs data with `openssl dgst -<digest> -sign`, base64-encodes with
// `openssl base64` and replaces +=/ with -_~ using tr: the pipeline of the
// CloudFront Developer Guide ("Use a Linux command and OpenSSL").
func (k osslKey) sign(t *testing.T, digest string, data []byte) string {
	t.Helper()
	f := writeTemp(t, k.o, data)
	return strings.TrimSpace(k.o.run(t, `"$OPENSSL" dgst -`+digest+` -sign `+k.name+`.pem `+f+
		` | "$OPENSSL" base64 -A | tr '+=/' '-_~'`))
}

// b64 encodes data like a CloudFront Policy, with openssl and tr.
func (o openSSL) b64(t *testing.T, data []byte) string {
	t.Helper()
	f := writeTemp(t, o, data)
	return strings.TrimSpace(o.run(t, `"$OPENSSL" base64 -A < `+f+` | tr '+=/' '-_~'`))
}

func writeTemp(t *testing.T, o openSSL, data []byte) string {
	t.Helper()
	f, err := os.CreateTemp(o.dir, "data-*.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Base(f.Name())
}
