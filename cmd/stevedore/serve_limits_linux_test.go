package main

import "testing"

// fdWatch counts this process's descriptors and compares with its mark.
func TestFDWatch(t *testing.T) {
	n, err := openDescriptors()
	if err != nil {
		t.Fatal(err)
	}
	if (&fdWatch{high: n + 1000}).overloaded() {
		t.Error("overloaded far under the mark")
	}
	if !(&fdWatch{high: 1}).overloaded() {
		t.Error("not overloaded over the mark")
	}
}
