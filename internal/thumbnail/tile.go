package thumbnail

import (
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
)

// sheetQuality is the JPEG quality of the sprite sheets tileSheets writes,
// about ffmpeg's -q:v 4.
const sheetQuality = 85

// tileSheets reads the g.n thumbnails dir/<pattern % i> (all of one size,
// width w), lays them out g.cols x g.rows per sheet, row by row, on black
// as ffmpeg's tile filter does, writes dir/sprite-<k>.jpg and removes the
// thumbnails.
func tileSheets(dir, pattern string, g grid, w int) error {
	n, cols, rows, perSheet := g.n, g.cols, g.rows, g.perSheet()
	var (
		sheet  *image.RGBA
		th     int // thumbnail height, from the first one
		number int
	)
	flush := func() error {
		if sheet == nil {
			return nil
		}
		name := filepath.Join(dir, fmt.Sprintf("sprite-%d.jpg", number))
		f, err := os.Create(name)
		if err != nil {
			return fmt.Errorf("thumbnails: %w", err)
		}
		if err := jpeg.Encode(f, sheet, &jpeg.Options{Quality: sheetQuality}); err != nil {
			_ = f.Close()
			return fmt.Errorf("thumbnails: writing %s: %w", filepath.Base(name), err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("thumbnails: %w", err)
		}
		sheet = nil
		number++
		return nil
	}
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf(pattern, i))
		img, err := decodeJPEG(path)
		if err != nil {
			return fmt.Errorf("thumbnails: ffmpeg made %d thumbnails, want %d: %w", i, n, err)
		}
		b := img.Bounds()
		if i == 0 {
			th = b.Dy()
		}
		if b.Dx() != w || b.Dy() != th {
			return fmt.Errorf("thumbnails: thumbnail %d is %dx%d, want %dx%d", i, b.Dx(), b.Dy(), w, th)
		}
		k := i % perSheet
		if k == 0 {
			if err := flush(); err != nil {
				return err
			}
			sheet = image.NewRGBA(image.Rect(0, 0, cols*w, rows*th))
			draw.Draw(sheet, sheet.Bounds(), image.Black, image.Point{}, draw.Src)
		}
		at := image.Pt(k%cols*w, k/cols*th)
		draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(b.Size())}, img, b.Min, draw.Src)
		_ = os.Remove(path)
	}
	return flush()
}

func decodeJPEG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	return img, nil
}
