package probe

import (
	"math"
	"testing"
)

// FuzzParse feeds parse arbitrary ffprobe output: it must never panic,
// and what it accepts must describe itself (Summary, validate) without
// panicking, with no negative durations or sizes.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"streams":[{"index":0,"codec_name":"h264","codec_type":"video","width":1920,"height":1080,` +
		`"sample_aspect_ratio":"1:1","avg_frame_rate":"30000/1001","r_frame_rate":"30000/1001","duration":"10.0",` +
		`"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},` +
		`{"index":1,"codec_name":"aac","codec_type":"audio","sample_rate":"48000","channels":2,"tags":{"language":"eng"}}],` +
		`"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"10.0","size":"1000","bit_rate":"800"}}`))
	f.Add([]byte(`{"streams":[{"codec_type":"video","width":-5,"height":0,"sample_aspect_ratio":"-1:0","avg_frame_rate":"1/0",` +
		`"r_frame_rate":"NaN","duration":"-3","tags":{"rotate":"1e308"}}],"format":{"duration":"Inf"}}`))
	f.Add([]byte(`{"streams":[{"codec_type":"video","width":8192,"height":8192,"sample_aspect_ratio":"100000:1",` +
		`"side_data_list":[{"side_data_type":"Display Matrix","rotation":1e300}]}],"format":{"duration":"1e300"}}`))
	f.Add([]byte(`{"streams":null,"format":null}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := parse(in)
		if err != nil {
			return
		}
		if s.Duration < 0 || s.MediaDuration < 0 {
			t.Fatalf("negative duration: %+v", s)
		}
		if v := s.Video; v != nil {
			if v.Rotation%90 != 0 || v.Rotation < 0 || v.Rotation >= 360 {
				t.Fatalf("rotation %d", v.Rotation)
			}
			if math.IsNaN(v.FrameRate) || math.IsInf(v.FrameRate, 0) || v.FrameRate < 0 {
				t.Fatalf("frame rate %v", v.FrameRate)
			}
			if s.validate() == nil && (v.DisplayWidth > maxSAR*MaxSide+2 || v.DisplayHeight > maxSAR*MaxSide+2) {
				t.Fatalf("display size %dx%d of a valid %dx%d video", v.DisplayWidth, v.DisplayHeight, v.Width, v.Height)
			}
		}
		_ = s.Summary()
		_ = s.validate()
		_ = s.Declared()
	})
}
