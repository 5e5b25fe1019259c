// compose-validator loads Compose files with compose-go, the loader that
// `docker compose config` uses: JSON Schema validation of the Compose
// Specification, interpolation (so `${VAR:?message}` fails when VAR is
// missing from the env file), and normalisation. On success it prints the
// normalised project as JSON; on failure the loader's error goes to stderr
// and it exits 1.
//
//	compose-validator --env-file .env docker-compose.yml [override.yml...]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env-file", "", "the env file interpolation reads (as `docker compose --env-file`)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: compose-validator [--env-file FILE] COMPOSE_FILE...")
		os.Exit(2)
	}
	if err := run(*envFile, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(envFile string, files []string) error {
	workingDir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		return err
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(workingDir),
		// Only the env file: the caller's shell must not make a file pass that fails on a user's machine.
		cli.WithName("shop"),
	}
	if envFile != "" {
		opts = append(opts, cli.WithEnvFiles(envFile), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions(files, opts...)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
