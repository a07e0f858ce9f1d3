package vod

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
)

// languageTag is the shape of a BCP 47 tag, loosely: "en", "pt-BR", "zh-Hant".
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$`)

// AddSubtitle stores a WebVTT track for the asset (replacing one of the same
// language) and, when the asset is ready, republishes its manifests so
// players list it. A track added while the asset is processing is listed
// when it is published.
func (s *Service) AddSubtitle(ctx context.Context, id string, sub catalog.AssetSubtitle, vtt []byte) (catalog.Asset, error) {
	if !languageTag.MatchString(sub.Language) {
		return catalog.Asset{}, &InputError{Reason: fmt.Sprintf("language %q is not a language tag such as \"en\" or \"pt-BR\"", sub.Language)}
	}
	if err := checkWebVTT(vtt); err != nil {
		return catalog.Asset{}, err
	}
	sub.Name = strings.ToLower(sub.Language)
	// A new URL per upload: media files are served as immutable.
	sub.Path = "subs/" + sub.Name + "-" + catalog.RandomString(4) + ".vtt"
	if strings.TrimSpace(sub.Label) == "" {
		sub.Label = sub.Language
	}
	if _, err := s.cfg.Catalog.GetAsset(ctx, id); err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: adding a subtitle to %s: %w", id, err)
	}
	// One subtitle change of this asset at a time, also against the
	// pipeline's publishAndMarkReady: a track is stored and listed, never
	// stored only, and the original beside the source is the listed one's.
	// Other assets do not wait; across nodes when Config.Leases is set.
	unlock, err := s.subMu.lock(ctx, id)
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: adding a subtitle to %s: %w", id, err)
	}
	defer unlock()
	// The original is kept beside the source: an attempt starts by clearing
	// the output prefix, and publishing copies the tracks there.
	if err := s.cfg.Storage.Put(ctx, subtitleSourceKey(id, sub.Name), vtt); err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: storing the subtitle: %w", err)
	}
	var replaced string // output path of the track this one replaces
	a, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		for _, x := range a.Output.Subtitles {
			if x.Name == sub.Name {
				replaced = x.Path
			}
		}
		a.Output.Subtitles = slices.DeleteFunc(a.Output.Subtitles, func(x catalog.AssetSubtitle) bool { return x.Name == sub.Name })
		a.Output.Subtitles = append(a.Output.Subtitles, sub)
		return nil
	})
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: adding a subtitle to %s: %w", id, err)
	}
	if a.Status == catalog.AssetReady {
		if err := s.cfg.Storage.Put(ctx, Prefix(id)+"/"+sub.Path, vtt); err != nil {
			return catalog.Asset{}, fmt.Errorf("vod: storing the subtitle: %w", err)
		}
		if err := s.publishSubtitles(ctx, a); err != nil {
			return catalog.Asset{}, err
		}
		if replaced != "" && replaced != sub.Path {
			// No manifest lists it any more.
			if err := s.cfg.Storage.Delete(ctx, Prefix(id)+"/"+replaced); err != nil {
				s.log.Warn("removing a replaced subtitle", "asset", id, "path", replaced, "error", err)
			}
		}
	}
	return a, nil
}

// checkWebVTT checks a WebVTT file's signature: UTF-8 text that starts
// (after an optional byte order mark) with "WEBVTT" followed by its end,
// a space, a tab or a line break.
func checkWebVTT(b []byte) error {
	rest, ok := strings.CutPrefix(strings.TrimPrefix(string(b), "\uFEFF"), "WEBVTT")
	if !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \t\r\n")) {
		return &InputError{Reason: "the subtitle file is not WebVTT (it must start with \"WEBVTT\")"}
	}
	if !utf8.Valid(b) {
		return &InputError{Reason: "the subtitle file is not valid UTF-8 text"}
	}
	return nil
}

func subtitleSourceKey(id, name string) string { return "sources/" + id + "/subs/" + name + ".vtt" }

// copySubtitles copies the asset's subtitle originals into its outputs.
func (s *Service) copySubtitles(ctx context.Context, a catalog.Asset) error {
	for _, x := range a.Output.Subtitles {
		obj, err := s.cfg.Storage.Open(ctx, subtitleSourceKey(a.ID, x.Name))
		if err != nil {
			return fmt.Errorf("vod: reading subtitle %s: %w", x.Name, err)
		}
		data, err := io.ReadAll(obj)
		_ = obj.Close()
		if err != nil {
			return fmt.Errorf("vod: reading subtitle %s: %w", x.Name, err)
		}
		if err := s.cfg.Storage.Put(ctx, Prefix(a.ID)+"/"+x.Path, data); err != nil {
			return fmt.Errorf("vod: storing subtitle %s: %w", x.Name, err)
		}
	}
	return nil
}

// publishSubtitles re-renders a ready asset's manifests with its subtitles.
func (s *Service) publishSubtitles(ctx context.Context, a catalog.Asset) error {
	subs := make([]asset.Subtitle, len(a.Output.Subtitles))
	for i, x := range a.Output.Subtitles {
		subs[i] = asset.Subtitle{Name: x.Name, Language: x.Language, Label: x.Label, Path: x.Path, Default: false}
	}
	if err := asset.Publish(ctx, s.cfg.Storage, Prefix(a.ID), subs); err != nil {
		return fmt.Errorf("vod: publishing subtitles of %s: %w", a.ID, err)
	}
	return nil
}

// InputError is a request the pipeline refuses; Reason says why.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return e.Reason }

// HTTPStatus makes the API answer 400 Bad Request.
func (e *InputError) HTTPStatus() int { return 400 }
