package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load returns the defaults overlaid with the YAML file at path, if path is
// not empty. The file is decoded strictly: a key Config does not know is an
// error naming the key and its line. Only the keys present in the file
// change; ladders in the file are merged over the built-in ones by name (a
// file ladder named like a built-in one replaces it whole), and their empty
// fields get the ladder defaults (see Ladder.WithDefaults).
//
// Load does not validate: the caller applies environment variables and flags
// first, then calls Config.Validate.
func Load(path string) (Config, error) {
	return loadOnto(Default(), path)
}

// LoadEdge is Load for `osprey edge`: the same file format, whose edge
// section starts from DefaultEdge (with its access log on standard output)
// rather than from serve's defaults.
func LoadEdge(path string) (Config, error) {
	cfg := Default()
	cfg.Edge = DefaultEdge()
	return loadOnto(cfg, path)
}

func loadOnto(cfg Config, path string) (Config, error) {
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config file: %w", err)
	}
	if err := decode(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return cfg, nil
}

// decode overlays the YAML document in data onto cfg.
func decode(data []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) { // empty file, or only comments
			return nil
		}
		if strings.Contains(err.Error(), "time.Duration") {
			return fmt.Errorf(`%w (durations need a unit, e.g. "2s" or "1500ms")`, err)
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("line %d: more than one YAML document; expected one", extra.Line)
	}

	// A file may set "ladders:" to null or list only its own presets; the
	// built-in ones stay available unless replaced by name.
	ladders := BuiltinLadders()
	for name, l := range cfg.Ladders {
		ladders[name] = l.WithDefaults()
	}
	cfg.Ladders = ladders
	return nil
}
