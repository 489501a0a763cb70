package iamapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
)

// botocoreInterpreters returns the python3 interpreters on this machine that import botocore
// (Debian's /usr/bin/python3 with python3-botocore first, then python3 on PATH), with the
// botocore version of each, one per distinct version.
func botocoreInterpreters(t *testing.T) (paths, versions []string) {
	t.Helper()
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	seen := map[string]bool{}
	for _, py := range candidates {
		if _, err := os.Stat(py); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, py, "-c", "import botocore; print(botocore.__version__)").Output()
		cancel()
		v := strings.TrimSpace(string(out))
		if err != nil || v == "" || seen[v] {
			continue
		}
		seen[v] = true
		paths, versions = append(paths, py), append(versions, v)
	}
	return paths, versions
}

// TestHandlerBotocoreLive runs botocore's real IAM client (testdata/botocore_live.py) against
// the Handler over TLS: providers, roles, the trust policy that botocore URL-decodes and
// parses, ListRoles paging with its paginator, and the error codes, statuses and modeled
// exceptions it raises. It is skipped, saying so, when no python3 with botocore is installed.
func TestHandlerBotocoreLive(t *testing.T) {
	pythons, versions := botocoreInterpreters(t)
	if len(pythons) == 0 {
		t.Skip("no python3 with botocore on this machine (Debian: apt-get install python3-botocore); the live botocore test needs one")
	}
	for i, py := range pythons {
		t.Run("botocore-"+versions[i], func(t *testing.T) {
			srv := newIAMServer(t, iamapi.Options{}, iam.Options{MaxTrustPolicyLength: -1})
			dir := t.TempDir()
			ca := filepath.Join(dir, "ca.pem")
			require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
			updated := strings.ReplaceAll(trickyDocument, "prod ©", "staging ®")
			cfg, err := json.Marshal(map[string]string{
				"endpoint": srv.URL, "ca_bundle": ca, "access_key": akid, "secret_key": secret,
				"trust_policy": trickyDocument, "updated_policy": updated,
			})
			require.NoError(t, err)

			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "testdata/botocore_live.py")
			cmd.Stdin = bytes.NewReader(cfg)
			// A clean environment: no AWS configuration, profile or proxy of the machine.
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8",
				"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none")}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "botocore_live.py: %s", stderr.String())

			type apiErr struct {
				Code    string
				Status  int
				Modeled string
			}
			var res struct {
				BotocoreVersion string `json:"botocore_version"`
				ProviderARN     string `json:"provider_arn"`
				Provider        struct {
					URL            string `json:"Url"`
					ClientIDList   []string
					ThumbprintList []string
					Tags           []map[string]string
					CreateDate     string
				}
				ClientIDs []string `json:"client_ids"`
				Created   struct {
					Arn, RoleId, Description string
					MaxSessionDuration       int
					DocumentType             string
					Document                 any
				}
				Got struct {
					Document any
					Tags     []map[string]string
				}
				ListPages [][]string `json:"list_pages"`
				Updated   any
				Described struct {
					Description        string
					MaxSessionDuration int
				}
				RoleTags    []map[string]string `json:"role_tags"`
				Errors      map[string]*apiErr
				AfterDelete *apiErr `json:"after_delete"`
			}
			require.NoError(t, json.Unmarshal(out, &res), "%s", out)
			assert.Equal(t, versions[i], res.BotocoreVersion)

			assert.Equal(t, githubARN, res.ProviderARN)
			assert.Equal(t, "token.actions.githubusercontent.com", res.Provider.URL)
			assert.Equal(t, []string{"sts.amazonaws.com"}, res.Provider.ClientIDList)
			assert.Equal(t, []string{thumb1}, res.Provider.ThumbprintList)
			assert.Equal(t, []map[string]string{{"Key": "team", "Value": "platform"}}, res.Provider.Tags)
			assert.Equal(t, "2026-12-01T09:30:00+00:00", res.Provider.CreateDate)
			assert.Equal(t, []string{"sts.amazonaws.com", "my-app"}, res.ClientIDs)

			var want, wantUpdated any
			require.NoError(t, json.Unmarshal([]byte(trickyDocument), &want))
			require.NoError(t, json.Unmarshal([]byte(updated), &wantUpdated))
			assert.Equal(t, "arn:aws:iam::"+acctA+":role/ci/ci-deploy", res.Created.Arn)
			assert.Regexp(t, `^AROA[A-Z2-7]{17}$`, res.Created.RoleId)
			assert.Equal(t, "Déploiement « CI »", res.Created.Description)
			assert.Equal(t, 7200, res.Created.MaxSessionDuration)
			assert.Equal(t, "dict", res.Created.DocumentType, "botocore URL-decodes and parses the document")
			assert.Equal(t, want, res.Created.Document)
			assert.Equal(t, want, res.Got.Document)
			assert.Equal(t, []map[string]string{{"Key": "team", "Value": "platform"}}, res.Got.Tags)
			assert.Equal(t, [][]string{{"alpha"}, {"Bravo"}, {"ci-deploy"}}, res.ListPages, "one role per page, sorted ignoring case")
			assert.Equal(t, wantUpdated, res.Updated)
			assert.Equal(t, "deploys", res.Described.Description)
			assert.Equal(t, 3600, res.Described.MaxSessionDuration)
			assert.Equal(t, []map[string]string{{"Key": "env", "Value": "prod"}}, res.RoleTags)

			wantErrs := map[string]apiErr{
				"no_such_role":   {Code: "NoSuchEntity", Status: 404, Modeled: "NoSuchEntityException"},
				"duplicate_role": {Code: "EntityAlreadyExists", Status: 409, Modeled: "EntityAlreadyExistsException"},
				"malformed":      {Code: "MalformedPolicyDocument", Status: 400, Modeled: "MalformedPolicyDocumentException"},
				"invalid_input":  {Code: "InvalidInput", Status: 400, Modeled: "InvalidInputException"},
				"validation":     {Code: "ValidationError", Status: 400, Modeled: "ClientError"},
			}
			for name, w := range wantErrs {
				got := res.Errors[name]
				if assert.NotNil(t, got, name) {
					assert.Equal(t, w, *got, name)
				}
			}
			require.NotNil(t, res.AfterDelete)
			assert.Equal(t, "NoSuchEntity", res.AfterDelete.Code)
			_, err = srv.reg.OIDCProvider("aws", acctA, githubURL)
			assert.ErrorIs(t, err, iam.ErrNoSuchEntity)
		})
	}
}
