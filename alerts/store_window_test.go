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

// ReadSourceWindow gives every window of a burst lead's two lists joined,
// with the total, and counts nothing when all posts are asked for.
func TestReadSourceWindow(t *testing.T) {
	lists := map[bool][]Source{true: {{ID: 1}, {ID: 2}}, false: {{ID: 3}, {ID: 4}, {ID: 5}}}
	joined := append(append([]Source{}, lists[true]...), lists[false]...)
	for _, burst := range []bool{true, false} {
		all := joined
		if !burst {
			all = lists[false]
		}
		for offset := 0; offset <= len(all)+1; offset++ {
			for limit := 0; limit <= len(all)+1; limit++ {
				counted := 0
				got, total, err := ReadSourceWindow(SourceWindow{Offset: offset, Limit: limit}, burst,
					func(b bool) (int, error) { counted++; return len(lists[b]), nil },
					func(b bool, w SourceWindow) ([]Source, error) {
						l := lists[b][min(w.Offset, len(lists[b])):]
						if w.Limit > 0 {
							l = l[:min(w.Limit, len(l))]
						}
						return l, nil
					})
				want := all[min(offset, len(all)):]
				if limit > 0 {
					want = want[:min(limit, len(want))]
				}
				if err != nil || total != len(all) || len(got) != len(want) {
					t.Fatalf("burst %v window %d+%d: %d posts of %d (%v), want %d of %d", burst, offset, limit, len(got), total, err, len(want), len(all))
				}
				for i := range want {
					if got[i].ID != want[i].ID {
						t.Fatalf("burst %v window %d+%d: post %d is %d, want %d", burst, offset, limit, i, got[i].ID, want[i].ID)
					}
				}
				if offset == 0 && limit == 0 && counted != 0 {
					t.Fatalf("burst %v: all posts asked for, yet %d counts", burst, counted)
				}
			}
		}
	}
}
