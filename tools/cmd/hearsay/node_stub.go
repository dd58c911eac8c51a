package main

import (
	"context"
	"errors"
	"log/slog"
)

// startNode starts the std node the agent serves. (Temporary until std's Node lands.)
func startNode(ctx context.Context, o agentOptions, logger *slog.Logger) (agentNode, error) {
	return nil, errors.New("std node not available yet")
}
