package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

func main() {
	c, err := stevedoreclient.Dial(os.Args[1])
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(os.Args[3])
	for range n {
		start := time.Now()
		s, err := c.Images.GetBlob(context.Background(), &stevedorev1.GetBlobRequest{Ref: os.Args[2]})
		if err != nil {
			panic(err)
		}
		var total int64
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				panic(err)
			}
			total += int64(len(m.GetData()))
		}
		fmt.Printf("%d bytes %.0f MB/s\n", total, float64(total)/time.Since(start).Seconds()/1e6)
	}
}
