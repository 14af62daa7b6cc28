// sarama consumer-group member for the client tests: joins GROUP, consumes TOPIC until COUNT
// messages arrived (or the deadline passes), marks and commits them, then leaves the group.
// Output: one JSON line per message, then {"done": n}.
//
// usage: sarama-group BOOTSTRAP[,BOOTSTRAP...] GROUP TOPIC COUNT TIMEOUT_SECONDS
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type handler struct {
	want   int
	seen   int
	cancel context.CancelFunc
	enc    *json.Encoder
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *handler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		h.enc.Encode(map[string]interface{}{"partition": msg.Partition, "offset": msg.Offset, "value": string(msg.Value)})
		session.MarkMessage(msg, "")
		h.seen++
		if h.seen >= h.want {
			h.cancel()
			return nil
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: sarama-group BOOTSTRAP GROUP TOPIC COUNT TIMEOUT_SECONDS")
		os.Exit(2)
	}
	count, _ := strconv.Atoi(os.Args[4])
	timeout, _ := strconv.Atoi(os.Args[5])

	config := sarama.NewConfig()
	config.Version = sarama.V2_1_0_0
	config.ClientID = "sarama-group"
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Offsets.CommitInterval = 200 * time.Millisecond

	group, err := sarama.NewConsumerGroup(strings.Split(os.Args[1], ","), os.Args[2], config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "join:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second)
	defer cancel()
	h := &handler{want: count, cancel: cancel, enc: json.NewEncoder(os.Stdout)}
	for ctx.Err() == nil {
		if err := group.Consume(ctx, []string{os.Args[3]}, h); err != nil {
			fmt.Fprintln(os.Stderr, "consume:", err)
			os.Exit(1)
		}
	}
	if err := group.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]int{"done": h.seen})
}
