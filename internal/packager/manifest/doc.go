// Package manifest is the packager's model of what is published and its
// rendering: a View (the ladder, the renditions' descriptions and the
// window of segments, one Entry per rendition each) rendered as HLS media
// and multivariant playlists (package hls) and as a DASH MPD (package
// dash), live or VOD; its persisted form (Record, in state.json and
// vod.json); and the layout of keys under a channel's or asset's prefix.
//
// It does no I/O and keeps no state: the live and VOD packagers build
// Views and store what they render.
package manifest
