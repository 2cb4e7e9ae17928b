package integration_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/moby/moby/api/types/container"
	dockerclient "github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The tests reach the Docker daemon through its API, with the client
// testcontainers makes; only the compose test runs a command, Compose
// itself, since docker-compose.yml is what it tests.

// withDocker runs f with a client of the Docker daemon.
func withDocker(ctx context.Context, f func(*dockerclient.Client) error) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the Docker daemon: %w", err)
	}
	defer cli.Close()
	return f(cli.Client)
}

// labelled lists the containers, networks and volumes labelled label=value.
func labelled(ctx context.Context, label, value string) (containers, networks, volumes []string, err error) {
	f := dockerclient.Filters{}.Add("label", label+"="+value)
	err = withDocker(ctx, func(cli *dockerclient.Client) error {
		cs, err := cli.ContainerList(ctx, dockerclient.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			return err
		}
		for _, c := range cs.Items {
			containers = append(containers, c.ID)
		}
		ns, err := cli.NetworkList(ctx, dockerclient.NetworkListOptions{Filters: f})
		if err != nil {
			return err
		}
		for _, n := range ns.Items {
			networks = append(networks, n.Name)
		}
		vs, err := cli.VolumeList(ctx, dockerclient.VolumeListOptions{Filters: f})
		if err != nil {
			return err
		}
		for _, v := range vs.Items {
			volumes = append(volumes, v.Name)
		}
		return nil
	})
	return containers, networks, volumes, err
}

// inspectContainer returns the daemon's view of container id.
func inspectContainer(ctx context.Context, id string) (container.InspectResponse, error) {
	var res dockerclient.ContainerInspectResult
	err := withDocker(ctx, func(cli *dockerclient.Client) error {
		var err error
		res, err = cli.ContainerInspect(ctx, id, dockerclient.ContainerInspectOptions{})
		return err
	})
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspecting container %s: %w", id, err)
	}
	return res.Container, nil
}

// publishedOnLoopback is the 127.0.0.1 address container port (e.g.
// "8080/tcp") is published on.
func publishedOnLoopback(ctr container.InspectResponse, port string) (string, error) {
	if ctr.NetworkSettings != nil {
		for p, bindings := range ctr.NetworkSettings.Ports {
			if p.String() != port {
				continue
			}
			for _, b := range bindings {
				if b.HostIP.String() == "127.0.0.1" {
					return net.JoinHostPort("127.0.0.1", b.HostPort), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s of %s is not published on 127.0.0.1", port, strings.TrimPrefix(ctr.Name, "/"))
}

// kill sends container id SIGKILL, as `docker kill` does.
func kill(ctx context.Context, id string) error {
	return withDocker(ctx, func(cli *dockerclient.Client) error {
		_, err := cli.ContainerKill(ctx, id, dockerclient.ContainerKillOptions{Signal: "KILL"})
		return err
	})
}
