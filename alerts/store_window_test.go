package alerts

import "testing"

// Split shares a window between a first list of n posts and the rest as
// if the two were one list: reading each part as told and joining them
// gives the window of the joined list.
func TestSourceWindowSplit(t *testing.T) {
	for n := 0; n <= 4; n++ {
		for m := 0; m <= 4; m++ {
			joined := make([]int, n+m)
			for i := range joined {
				joined[i] = i
			}
			for offset := -1; offset <= n+m+1; offset++ {
				for limit := -1; limit <= n+m+1; limit++ {
					w := SourceWindow{Offset: offset, Limit: limit}
					first, readFirst, rest, readRest := w.Split(n)
					var got []int
					if readFirst {
						got = append(got, window(joined[:n], first)...)
					}
					if readRest {
						got = append(got, window(joined[n:], rest)...)
					}
					want := window(joined, w)
					if len(got) != len(want) {
						t.Fatalf("n=%d m=%d window %+v: got %v, want %v", n, m, w, got, want)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("n=%d m=%d window %+v: got %v, want %v", n, m, w, got, want)
						}
					}
					if limit > 0 && readRest && rest.Limit == 0 {
						t.Fatalf("n=%d window %+v: the rest is read without a limit", n, w)
					}
				}
			}
		}
	}
}

// window is what SQL's LIMIT and OFFSET give on list (limit ≤ 0: all).
func window(list []int, w SourceWindow) []int {
	out := list[min(max(w.Offset, 0), len(list)):]
	if w.Limit > 0 {
		out = out[:min(w.Limit, len(out))]
	}
	return out
}
